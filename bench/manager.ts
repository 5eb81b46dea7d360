/**
 * Manager dict get/set against Python's manager (bench/manager_py.py), in
 * the same run: a child process alternating set and get on a managed dict,
 * with the Promise API and with the Sync API, from a local Manager() and
 * from a client of a remote manager over loopback TCP. Each child times its
 * own loop, so process start is excluded; each figure is the best of 3.
 * Both sides first run WARM rounds untimed (for Node, the JIT compiles the
 * call path), and the clock starts only once the spare child booted after
 * a start is ready, so that it does not share the two cores with the
 * measurement (as in bench/queue.ts).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BaseManager, Event, Manager, Process, isMainModule } from 'multiproc';
import { whenSparesReady } from 'multiproc/testing';
import type { BenchRow } from './bench-row.ts';

const OPS = 20_000;
const WARM = 2_000;
const REPEATS = 3;

/** Child: WARM rounds, then (once `go` is set) OPS/2 rounds of set then get, timed here; the rate goes back through the dict itself. */
export async function hammer(d: any, sync: boolean, warm: Event, go: Event): Promise<void> {
  await d.set('k', 0); // connects (and for sync, below, the sync connection too) before the clock starts
  if (sync) d.getSync('k');
  for (let i = 0; i < WARM / 2; i++) {
    if (sync) d.setSync('k', d.getSync('k') + 1);
    else await d.set('k', (await d.get('k')) + 1);
  }
  warm.set();
  await go.wait();
  const start = performance.now();
  if (sync) {
    for (let i = 0; i < OPS / 2; i++) {
      d.setSync('k', i);
      d.getSync('k');
    }
  } else {
    for (let i = 0; i < OPS / 2; i++) {
      await d.set('k', i);
      await d.get('k');
    }
  }
  await d.set('rate', OPS / ((performance.now() - start) / 1000));
}

/** The remote side: a manager registering one shared dict-like store. */
export class RemoteBenchManager extends BaseManager {}
const store = new Map<string, unknown>();
export function getStore() {
  return {
    get: (key: string) => store.get(key),
    set: (key: string, value: unknown) => void store.set(key, value),
  };
}
RemoteBenchManager.register('getStore', getStore, { exposed: ['get', 'set'] });

/** Child of the remote case: connects with the given key, then runs hammer on the remote store. */
export async function remoteHammer(address: { host: string; port: number }, authkey: Uint8Array, sync: boolean, warm: Event, go: Event): Promise<void> {
  const manager = new RemoteBenchManager({ address, authkey });
  await manager.connect();
  await hammer(await manager.create('getStore'), sync, warm, go);
}

/** Starts the child, lets it warm up, waits for the spare booted after its start, then lets it run. */
async function runTimed(target: (...args: any[]) => Promise<void>, args: unknown[]): Promise<void> {
  const warm = new Event();
  const go = new Event();
  const child = new Process({ target, args: [...args, warm, go] });
  child.start();
  await warm.wait();
  await new Promise((resolve) => setTimeout(resolve, 100));
  await whenSparesReady();
  go.set();
  await child.join();
}

async function best(run: () => Promise<number>): Promise<number> {
  let top = 0;
  for (let i = 0; i < REPEATS; i++) top = Math.max(top, await run());
  return top;
}

export async function localRate(sync: boolean): Promise<number> {
  await using manager = await Manager();
  const d = await manager.dict<string, number>();
  await runTimed(hammer, [d, sync]);
  return (await d.get('rate'))!;
}

export async function remoteRate(sync: boolean): Promise<number> {
  const authkey = Buffer.from('bench');
  await using server = new RemoteBenchManager({ address: { host: '127.0.0.1', port: 0 }, authkey });
  await server.start();
  await runTimed(remoteHammer, [server.address as { host: string; port: number }, authkey, sync]);
  const reader = await server.create('getStore');
  return (await reader.get('rate')) as number;
}

export async function runManagerBench(): Promise<BenchRow[]> {
  const py = JSON.parse(
    execFileSync('python3', [fileURLToPath(new URL('./manager_py.py', import.meta.url))], { encoding: 'utf8' }),
  ) as { local: number; remote: number };
  const row = (name: string, ours: number, anchor: number): BenchRow => ({
    name,
    unit: 'ops/s',
    ours,
    anchor,
    anchorName: 'Python manager',
    higherIsBetter: true,
  });
  return [
    row('manager dict get/set from a child (Promise API)', await best(() => localRate(false)), py.local),
    row('manager dict get/set from a child (Sync API)', await best(() => localRate(true)), py.local),
    row('remote manager over loopback (Promise API)', await best(() => remoteRate(false)), py.remote),
    row('remote manager over loopback (Sync API)', await best(() => remoteRate(true)), py.remote),
  ];
}

if (isMainModule(import.meta)) {
  for (const r of await runManagerBench()) console.log(`${r.name}: ${r.ours.toFixed(0)} vs ${r.anchor.toFixed(0)} (${(r.ours / r.anchor).toFixed(2)}x)`);
}
