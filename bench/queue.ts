/**
 * Queue and Pipe throughput/latency against Python's multiprocessing, both
 * measured in the same run on this machine (bench/queue_py.py). Child boot
 * time is excluded: each child reports ready before the clock starts.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Process } from '../src/process.ts';
import { Queue } from '../src/queue.ts';
import { Pipe, type Connection } from '../src/connection.ts';
import type { BenchRow } from './bench-row.ts';

const N_SMALL = 200_000;
const N_BIG = 300;
const ROUNDS = 20_000;
const WARM = 1000;

/** Child: reports ready, takes `n` items, reports done. */
export function consumeN(q: Queue, done: Queue, n: number): void {
  done.putSync('ready');
  for (let i = 0; i < n; i++) q.getSync();
  done.putSync('done');
}

/** Child: echoes `rounds` messages (objects or bytes). */
export function echo(conn: Connection, rounds: number, asBytes: boolean): void {
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
  const start = performance.now();
  for (let i = 0; i < n; i++) q.putSync(item);
  await done.get();
  const elapsed = (performance.now() - start) / 1000;
  await p.join();
  q.close();
  done.close();
  return elapsed;
}

async function roundTripUs(asBytes: boolean): Promise<number> {
  const [a, b] = Pipe();
  const p = new Process({ target: echo, args: [b, ROUNDS + WARM, asBytes] });
  p.start();
  const payload = Buffer.from('12345678');
  let start = 0;
  for (let i = 0; i < ROUNDS + WARM; i++) {
    if (i === WARM) start = performance.now();
    if (asBytes) {
      a.sendBytes(payload);
      await a.recvBytes();
    } else {
      a.send(i);
      await a.recv();
    }
  }
  const us = ((performance.now() - start) * 1000) / ROUNDS;
  await p.join();
  a.close();
  return us;
}

/** Runs the Queue/Pipe benchmarks and Python's, returning one row per figure. */
export async function runQueueBench(): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL('./queue_py.py', import.meta.url));
  const py = JSON.parse(execFileSync('python3', [script], { encoding: 'utf8' })) as Record<string, number>;
  const small = N_SMALL / (await queueSeconds(N_SMALL, 12345));
  const big = N_BIG / (await queueSeconds(N_BIG, Buffer.alloc(1 << 20, 120)));
  const rtObject = await roundTripUs(false);
  const rtBytes = await roundTripUs(true);
  const anchorName = 'Python multiprocessing';
  return [
    { name: 'Queue small messages', unit: 'msg/s', ours: small, anchor: py.queueSmallPerSec!, anchorName, higherIsBetter: true },
    { name: 'Queue 1 MiB messages', unit: 'MiB/s', ours: big, anchor: py.queue1MiBMiBPerSec!, anchorName, higherIsBetter: true },
    { name: 'Pipe round trip, small object', unit: 'µs', ours: rtObject, anchor: py.pipeRoundTripObjectUs!, anchorName, higherIsBetter: false },
    { name: 'Pipe round trip, 8-byte sendBytes', unit: 'µs', ours: rtBytes, anchor: py.pipeRoundTripBytesUs!, anchorName, higherIsBetter: false },
  ];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const row of await runQueueBench()) {
    const ratio = row.higherIsBetter ? row.ours / row.anchor : row.anchor / row.ours;
    console.log(`${row.name}: ${row.ours.toFixed(1)} ${row.unit} vs ${row.anchorName} ${row.anchor.toFixed(1)} ${row.unit} (${ratio.toFixed(2)}x better)`);
  }
}
