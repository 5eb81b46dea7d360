/**
 * Start+join latency of a no-op process for each start method, against
 * Python's multiprocessing in the same run. Two figures per method:
 * - "ready": a spare child was already booted (the usual case for a
 *   program that starts processes now and then, or a pool refilling);
 * - "back to back": start+join in a tight loop, so each start also pays
 *   for booting the next spare; this is Node's boot time, amortised.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getContext, setForkserverPreload, type StartMethodName } from 'multiproc';
import { whenSparesReady } from 'multiproc/testing';
import type { BenchRow } from './bench-row.ts';

/** The no-op target. */
export function noop(): void {}

/** Rounds per figure: more for the forkserver, whose few ms per round a shared machine's noise swamps. */
const ROUNDS: Record<StartMethodName, number> = { fork: 12, spawn: 12, forkserver: 60 };

async function startJoinMs(method: StartMethodName, waitForSpare: boolean): Promise<number> {
  const ctx = getContext(method);
  let total = 0;
  for (let i = 0; i < ROUNDS[method] + 2; i++) {
    if (waitForSpare) await whenSparesReady();
    const begin = performance.now();
    const p = new ctx.Process({ target: noop });
    p.start();
    await p.join();
    // The first two rounds boot the spares; they are the warm-up.
    if (i >= 2) total += performance.now() - begin;
  }
  return total / ROUNDS[method];
}

export async function runProcessStartBench(): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL('./process_start_py.py', import.meta.url));
  const python = JSON.parse(execFileSync('python3', [script, String(ROUNDS.fork), String(ROUNDS.forkserver)], { encoding: 'utf8' })) as Record<
    StartMethodName,
    number
  >;
  // Like for like: Python's forkserver preloads __main__ by default
  // (multiprocessing/forkserver.py, _preload_modules = ['__main__']), and
  // the target's module is this bench's equivalent of __main__.
  setForkserverPreload([fileURLToPath(import.meta.url)]);
  const rows: BenchRow[] = [];
  for (const method of ['fork', 'spawn', 'forkserver'] as const) {
    const ready = await startJoinMs(method, true);
    const backToBack = await startJoinMs(method, false);
    const anchorMethod = method === 'forkserver' ? 'forkserver' : 'spawn';
    rows.push(
      { name: `${method} start+join, spare ready`, unit: 'ms', ours: ready, anchor: python[anchorMethod], anchorName: `Python ${anchorMethod}`, higherIsBetter: false },
      { name: `${method} start+join, back to back`, unit: 'ms', ours: backToBack, anchor: python[anchorMethod], anchorName: `Python ${anchorMethod}`, higherIsBetter: false },
    );
  }
  rows.push({ name: 'Python fork start+join (for reference)', unit: 'ms', ours: python.fork, anchor: python.fork, anchorName: 'Python fork', higherIsBetter: false });
  return rows;
}
