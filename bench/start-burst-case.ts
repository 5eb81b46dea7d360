/**
 * One measurement of bench/start-burst.ts, run in a fresh Node process so
 * that "cold" means cold: no zygote, no spare, no pool yet. argv: the case
 * and its parameters; prints one JSON number (ms, or kB for memory).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Event, Queue, getContext, isMainModule, setForkserverPreload, type StartMethodName } from 'multiproc';

/** The no-op target. */
export function noop(): void {}

/** The tiny pool task. */
export function tiny(x: number): number {
  return x * 2;
}

/** A CPU-bound loop, timed inside the child, so only the child's code speed counts. */
export function timedLoop(results: Queue<number>): void {
  const begin = performance.now();
  let acc = 1;
  for (let i = 0; i < 60_000_000; i++) acc = (acc * 1_103_515_245 + 12_345 + i) % 2_147_483_648;
  results.putSync(acc >= 0 ? performance.now() - begin : -1);
}

/** Stays idle until released, so its memory can be read. */
export function idle(release: Event, ready: Queue<number>): void {
  ready.putSync(process.pid);
  release.waitSync();
}

function pssKb(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
}

async function burst(method: StartMethodName, count: number): Promise<number> {
  const ctx = getContext(method);
  // Warm-up, as Python's side does: the zygote (or first spare) starts here.
  const first = new ctx.Process({ target: noop });
  first.start();
  await first.join();
  const begin = performance.now();
  const children = Array.from({ length: count }, () => new ctx.Process({ target: noop }));
  for (const child of children) child.start();
  for (const child of children) await child.join();
  return performance.now() - begin;
}

/** Mean ms of one start+join, `count` times back to back after a warm-up start. */
async function serial(method: StartMethodName, count: number): Promise<number> {
  const ctx = getContext(method);
  const first = new ctx.Process({ target: noop });
  first.start();
  await first.join();
  const begin = performance.now();
  for (let i = 0; i < count; i++) {
    const child = new ctx.Process({ target: noop });
    child.start();
    await child.join();
  }
  return (performance.now() - begin) / count;
}

async function coldPool(method: StartMethodName): Promise<number> {
  const begin = performance.now();
  const pool = new (getContext(method).Pool)({ processes: 8 });
  await pool.map(tiny, Array.from({ length: 100 }, (_, i) => i));
  pool.close();
  await pool.join();
  return performance.now() - begin;
}

/** The same Pool once `await ctx.prepare()` has booted the zygote (ahead, while the program did other work). */
async function preparedPool(method: StartMethodName): Promise<number> {
  await getContext(method).prepare();
  return coldPool(method);
}

async function loopInChild(method: StartMethodName): Promise<number> {
  const results = new Queue<number>();
  const child = new (getContext(method).Process)({ target: timedLoop, args: [results] });
  child.start();
  const ms = await results.get();
  await child.join();
  return ms;
}

async function idlePss(method: StartMethodName, count: number): Promise<number> {
  const ctx = getContext(method);
  const release = new Event();
  const ready = new Queue<number>();
  const children = Array.from({ length: count }, () => new ctx.Process({ target: idle, args: [release, ready] }));
  for (const child of children) child.start();
  const pids: number[] = [];
  for (let i = 0; i < count; i++) pids.push(await ready.get());
  const total = pids.reduce((sum, pid) => sum + pssKb(pid), 0);
  release.set();
  for (const child of children) await child.join();
  return total;
}

if (isMainModule(import.meta)) {
  // Like Python's forkserver, which preloads __main__.
  setForkserverPreload([fileURLToPath(import.meta.url)]);
  const [kind, method, count] = process.argv.slice(2) as [string, StartMethodName, string?];
  const cases: Record<string, () => Promise<number>> = {
    burst: () => burst(method, Number(count)),
    serial: () => serial(method, Number(count)),
    pool: () => coldPool(method),
    'prepared-pool': () => preparedPool(method),
    loop: () => loopInChild(method),
    pss: () => idlePss(method, Number(count)),
  };
  const run = cases[kind];
  if (!run) throw new Error(`unknown case ${kind}`);
  console.log(JSON.stringify(await run()));
  process.exit(0);
}
