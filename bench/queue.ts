/**
 * Queue and Pipe throughput/latency against Python's multiprocessing, both
 * measured in the same run on this machine (bench/queue_py.py). Child boot
 * time is excluded: each child reports ready before the clock starts.
 *
 * Node boots a spare child in the background after a start (see
 * vehicle-os-process.ts); that boot takes a core for a few hundred ms, so
 * each figure is measured only after it is done (quiet()), as Python has no
 * such background work.
 *
 * Both sides do the same work, and each figure is the best of 3 runs in a
 * fresh process, on both sides: one producer process and one consumer
 * process for queues; round trips use the blocking API on both ends, as
 * Python's do. Our Promise API is reported in rows of its own, against the
 * same Python figure, so a slower async path is not hidden.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pipe, Process, Queue, type Connection } from 'multiproc';
import { whenSparesReady } from 'multiproc/testing';
import type { BenchRow } from './bench-row.ts';

const N_SMALL = 200_000;
const N_BIG = 300;
const ROUNDS = 20_000;
const WARM = 1000;

/** Waits until the spare child booted after a start (50 ms later) is ready, so it does not share the cores with the measurement. */
async function quiet(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  await whenSparesReady();
}

/** Child: reports ready, takes `n` items, reports done. */
export function consumeN(q: Queue, done: Queue, n: number): void {
  done.putSync('ready');
  for (let i = 0; i < n; i++) q.getSync();
  done.putSync('done');
}

/** Child: says ready, then echoes `rounds` messages (objects or bytes). */
export function echo(conn: Connection, rounds: number, asBytes: boolean): void {
  conn.send('ready');
  for (let i = 0; i < rounds; i++) {
    if (asBytes) conn.sendBytes(conn.recvBytesSync());
    else conn.send(conn.recvSync());
  }
}

async function queueSeconds(n: number, item: unknown): Promise<number> {
  const q = new Queue();
  const done = new Queue();
  const p = new Process({ target: consumeN, args: [q, done, n] });
  p.start();
  await done.get();
  await quiet();
  const start = performance.now();
  for (let i = 0; i < n; i++) q.putSync(item);
  await done.get();
  const elapsed = (performance.now() - start) / 1000;
  await p.join();
  q.close();
  done.close();
  return elapsed;
}

async function roundTripUs(asBytes: boolean, useAsync: boolean): Promise<number> {
  const [a, b] = Pipe();
  const p = new Process({ target: echo, args: [b, ROUNDS + WARM, asBytes] });
  p.start();
  await a.recv();
  await quiet();
  const payload = Buffer.from('12345678');
  let start = 0;
  for (let i = 0; i < ROUNDS + WARM; i++) {
    if (i === WARM) start = performance.now();
    if (asBytes) {
      a.sendBytes(payload);
      if (useAsync) await a.recvBytes();
      else a.recvBytesSync();
    } else {
      a.send(i);
      if (useAsync) await a.recv();
      else a.recvSync();
    }
  }
  const us = ((performance.now() - start) * 1000) / ROUNDS;
  await p.join();
  a.close();
  return us;
}

/**
 * The best of REPEATS runs, as bench/queue_py.py takes Python's: on a shared
 * 2-core machine a run is often slowed by work elsewhere, on either side.
 */
const REPEATS = 3;
async function best(measure: () => Promise<number>, higherIsBetter: boolean): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await measure());
  return higherIsBetter ? Math.max(...runs) : Math.min(...runs);
}

/** Our figures alone, by row key; for quick iterations (`node --import tsx bench/queue.ts ours`). */
export const ours = {
  small: () => best(async () => N_SMALL / (await queueSeconds(N_SMALL, 12345)), true),
  big: () => best(async () => N_BIG / (await queueSeconds(N_BIG, Buffer.alloc(1 << 20, 120))), true),
  rtObject: () => best(() => roundTripUs(false, false), false),
  rtBytes: () => best(() => roundTripUs(true, false), false),
  rtObjectAsync: () => best(() => roundTripUs(false, true), false),
  rtBytesAsync: () => best(() => roundTripUs(true, true), false),
};

/** One of our figures, measured in a fresh Node process, as each of Python's is. */
function oursFresh(key: keyof typeof ours): number {
  const output = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'ours', key], { encoding: 'utf8' });
  return Number(output.trim().split(' ')[1]);
}

/** Runs the Queue/Pipe benchmarks and Python's, returning one row per figure. */
export async function runQueueBench(): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL('./queue_py.py', import.meta.url));
  // Each Python measure in a fresh interpreter (see bench/queue_py.py).
  const py: Record<string, number> = {};
  for (const measure of ['queueSmallPerSec', 'queue1MiBMiBPerSec', 'pipeRoundTripObjectUs', 'pipeRoundTripBytesUs']) {
    Object.assign(py, JSON.parse(execFileSync('python3', [script, measure], { encoding: 'utf8' })));
  }
  const anchorName = 'Python multiprocessing';
  const row = (name: string, unit: string, value: number, anchor: number, higherIsBetter: boolean): BenchRow => ({
    name,
    unit,
    ours: value,
    anchor,
    anchorName,
    higherIsBetter,
  });
  return [
    row('Queue small messages', 'msg/s', oursFresh('small'), py.queueSmallPerSec!, true),
    row('Queue 1 MiB messages', 'MiB/s', oursFresh('big'), py.queue1MiBMiBPerSec!, true),
    row('Pipe round trip, small object', 'µs', oursFresh('rtObject'), py.pipeRoundTripObjectUs!, false),
    row('Pipe round trip, 8-byte sendBytes', 'µs', oursFresh('rtBytes'), py.pipeRoundTripBytesUs!, false),
    row('Pipe round trip, small object, await recv()', 'µs', oursFresh('rtObjectAsync'), py.pipeRoundTripObjectUs!, false),
    row('Pipe round trip, 8-byte sendBytes, await recvBytes()', 'µs', oursFresh('rtBytesAsync'), py.pipeRoundTripBytesUs!, false),
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === 'ours') {
    const keys = process.argv.slice(3) as (keyof typeof ours)[];
    for (const key of keys.length > 0 ? keys : (Object.keys(ours) as (keyof typeof ours)[])) {
      console.log(key, (await ours[key]()).toFixed(3));
    }
  } else {
    for (const row of await runQueueBench()) {
      const ratio = row.higherIsBetter ? row.ours / row.anchor : row.anchor / row.ours;
      console.log(`${row.name}: ${row.ours.toFixed(1)} ${row.unit} vs ${row.anchorName} ${row.anchor.toFixed(1)} ${row.unit} (${ratio.toFixed(2)}x better)`);
    }
  }
}
