/**
 * Shared Value increments and Lock hand-off latency against Python's
 * multiprocessing, both measured in the same run (bench/shared_value_py.py).
 * Child boot time is excluded: the clock starts when every party has met at
 * a Barrier. The total of the increments is checked to be exact.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Barrier, Lock, Process, Value } from 'multiproc';
import type { BenchRow } from './bench-row.ts';

const INCREMENTS = 200_000;
const HANDOFFS = 20_000;

/** Child: meets the others, then increments `value` n times under its lock. */
export function incrementUnderLock(value: Value<'i'>, n: number, start: Barrier): void {
  const lock = value.getLock();
  start.waitSync();
  for (let i = 0; i < n; i++) {
    lock.acquireSync();
    value.value += 1;
    lock.release();
  }
}

/** Child: n times, waits for `ping` to be released to it, then releases `pong`. */
export function handOffChild(ping: Lock, pong: Lock, n: number, start: Barrier): void {
  start.waitSync();
  for (let i = 0; i < n; i++) {
    ping.acquireSync();
    pong.release();
  }
}

async function incrementsPerSecond(): Promise<number> {
  const value = new Value('i', 0);
  const start = new Barrier(3);
  const children = [0, 1].map(() => new Process({ target: incrementUnderLock, args: [value, INCREMENTS, start] }));
  for (const child of children) child.start();
  await start.wait();
  const t0 = performance.now();
  for (const child of children) await child.join();
  const seconds = (performance.now() - t0) / 1000;
  if (value.value !== 2 * INCREMENTS) throw new Error(`lost increments: ${value.value} != ${2 * INCREMENTS}`);
  return (2 * INCREMENTS) / seconds;
}

async function handOffMicroseconds(): Promise<number> {
  const ping = new Lock();
  const pong = new Lock();
  ping.acquireSync();
  pong.acquireSync();
  const start = new Barrier(2);
  const child = new Process({ target: handOffChild, args: [ping, pong, HANDOFFS, start] });
  child.start();
  await start.wait();
  const t0 = performance.now();
  for (let i = 0; i < HANDOFFS; i++) {
    ping.release();
    pong.acquireSync();
  }
  const us = ((performance.now() - t0) * 1000) / (2 * HANDOFFS);
  await child.join();
  return us;
}

/** Runs the shared-value benchmarks and Python's, returning one row per figure. */
export async function runSharedValueBench(): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL('./shared_value_py.py', import.meta.url));
  const py = JSON.parse(execFileSync('python3', [script], { encoding: 'utf8' })) as Record<string, number>;
  const rate = await incrementsPerSecond();
  const handoff = await handOffMicroseconds();
  const anchorName = 'Python multiprocessing';
  return [
    {
      name: "Value('i') += 1 under its lock, 2 processes x 200k",
      unit: 'M increments/s',
      ours: rate / 1e6,
      anchor: py.increments_per_s! / 1e6,
      anchorName,
      higherIsBetter: true,
    },
    {
      name: 'Lock hand-off between 2 processes',
      unit: 'µs',
      ours: handoff,
      anchor: py.handoff_us!,
      anchorName,
      higherIsBetter: false,
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const row of await runSharedValueBench()) console.log(row);
}
