/**
 * ClusterPool throughput on tiny tasks, with 2 `multiproc worker` processes
 * of 1 pool process each, against what users write by hand on BullMQ: 2
 * Workers with a sandboxed processor file, one job per item. Beside it, the
 * local Pool(2) on the same items, to show what Redis costs. Needs Redis
 * (REDIS_URL, else 127.0.0.1:6379). Each figure: median of 3 runs after 1 warm-up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Pool } from 'multiproc';
import { ClusterPool } from 'multiproc/cluster';
import type { BenchRow } from './bench-row.ts';
// @ts-expect-error plain JS module without types, imported as the workers import it.
import { tiny } from './cluster-tasks.mjs';

const N = 2000;
const URL_ = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REPO = fileURLToPath(new URL('..', import.meta.url));

async function median(run: () => Promise<number>): Promise<number> {
  await run();
  const rates: number[] = [];
  for (let i = 0; i < 3; i++) rates.push(await run());
  return rates.sort((a, b) => a - b)[1];
}

async function rate(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return N / ((performance.now() - start) / 1000);
}

async function startWorker(queue: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['bin/multiproc.mjs', 'worker', '--connection', URL_, '--queue', queue, '--module', 'bench/cluster-tasks.mjs', '--processes', '1', '--status-interval', '0'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout!.on('data', (data) => (output += data));
  while (!output.includes('multiproc worker started')) {
    if (child.exitCode !== null) throw new Error(`multiproc worker did not start: ${output}`);
    await once(child.stdout!, 'data');
  }
  return child;
}

/** The anchor: one job per item through 2 sandboxed BullMQ Workers. */
async function bullmqRate(): Promise<number> {
  const name = `mp-bench-bullmq-${process.pid}`;
  const connection = { url: URL_ };
  const queue = new Queue(name, { connection });
  const processor = fileURLToPath(new URL('./cluster-bullmq-processor.mjs', import.meta.url));
  const workers = [0, 1].map(() => new Worker(name, processor, { connection, concurrency: 1 }));
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  const items = Array.from({ length: N }, (_, i) => i);
  const value = await median(() =>
    rate(async () => {
      let done = 0;
      const finished = new Promise<void>((resolve) => {
        const onDone = () => {
          if (++done === N) resolve();
        };
        for (const worker of workers) worker.on('completed', onDone);
      });
      await queue.addBulk(items.map((x) => ({ name: 'tiny', data: x, opts: { removeOnComplete: true } })));
      await finished;
      for (const worker of workers) worker.removeAllListeners('completed');
    }),
  );
  await Promise.all(workers.map((worker) => worker.close()));
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return value;
}

export async function runClusterBench(): Promise<BenchRow[]> {
  const items = Array.from({ length: N }, (_, i) => i);
  const queue = `mp-bench-cluster-${process.pid}`;
  const workers = await Promise.all([startWorker(queue), startWorker(queue)]);
  const cluster = new ClusterPool({ connection: URL_, queue, processes: 2 });
  const chunked = await median(() => rate(() => cluster.map(tiny, items)));
  const single = await median(() => rate(() => cluster.map(tiny, items, { chunksize: 1 })));
  cluster.close();
  await cluster.join();
  for (const worker of workers) {
    worker.kill('SIGTERM');
    await once(worker, 'exit');
  }
  const leftovers = new Queue(queue, { connection: { url: URL_ } });
  await leftovers.obliterate({ force: true });
  await leftovers.close();

  const anchor = await bullmqRate();

  const pool = new Pool({ processes: 2 });
  const local = await median(() => rate(() => pool.map(tiny, items)));
  pool.close();
  await pool.join();

  return [
    { name: `ClusterPool (2 workers × 1 process).map, ${N} tiny tasks, default chunksize`, unit: 'tasks/s', ours: chunked, anchor, anchorName: 'BullMQ sandboxed, job per item', higherIsBetter: true },
    { name: `ClusterPool (2 workers × 1 process).map, ${N} tiny tasks, chunksize 1`, unit: 'tasks/s', ours: single, anchor, anchorName: 'BullMQ sandboxed, job per item', higherIsBetter: true },
    { name: `ClusterPool.map default chunksize next to local Pool(2).map (overhead of Redis)`, unit: 'tasks/s', ours: chunked, anchor: local, anchorName: 'local Pool(2)', higherIsBetter: true },
  ];
}
