/**
 * Pool throughput on 100k tiny tasks against Python's Pool(2).map (run via
 * python3 in the same run) and piscina (worker threads) with 2 workers.
 * Each figure is the median of 11 runs after 3 warm-up runs, for every
 * contender alike.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Pool } from 'multiproc';
import { whenSparesReady } from 'multiproc/testing';
import type { BenchRow } from './bench-row.ts';

const N = 100_000;

/** The tiny task; the workers find it by importing this module again. */
export function tiny(x: number): number {
  return x * 2;
}

/**
 * Steady state: V8 needs a few runs to optimise the workers' hot loop, so
 * each contender gets 3 warm-up runs, then the median of 11 counts.
 */
async function median(run: () => Promise<number>): Promise<number> {
  for (let i = 0; i < 3; i++) await run();
  const rates: number[] = [];
  for (let i = 0; i < 11; i++) rates.push(await run());
  return rates.sort((a, b) => a - b)[5];
}

async function rate(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return N / ((performance.now() - start) / 1000);
}

export async function runPoolBench(): Promise<BenchRow[]> {
  const script = fileURLToPath(new URL('./pool_py.py', import.meta.url));
  const python = JSON.parse(execFileSync('python3', [script, String(N)], { encoding: 'utf8' })) as {
    default: number;
    chunksize1: number;
  };
  const items = Array.from({ length: N }, (_, i) => i);

  const pool = new Pool({ processes: 2 });
  await pool.map(tiny, items.slice(0, 1000));
  // Starting workers boots spare children in the background; measure after that.
  await whenSparesReady();
  const oursDefault = await median(() => rate(() => pool.map(tiny, items)));
  const oursSingle = await median(() => rate(() => pool.map(tiny, items, { chunksize: 1 })));
  pool.close();
  await pool.join();

  const piscina = new Piscina({
    filename: fileURLToPath(new URL('./pool-piscina-task.mjs', import.meta.url)),
    minThreads: 2,
    maxThreads: 2,
  });
  const piscinaRate = await median(() => rate(() => Promise.all(items.map((x) => piscina.run(x)))));
  await piscina.destroy();

  return [
    { name: 'Pool(2).map, 100k tiny tasks, default chunksize', unit: 'tasks/s', ours: oursDefault, anchor: python.default, anchorName: 'Python Pool.map', higherIsBetter: true },
    { name: 'Pool(2).map, 100k tiny tasks, chunksize 1', unit: 'tasks/s', ours: oursSingle, anchor: python.chunksize1, anchorName: 'Python Pool.map', higherIsBetter: true },
    { name: 'Pool(2).map chunksize 1 vs piscina run() per task', unit: 'tasks/s', ours: oursSingle, anchor: piscinaRate, anchorName: 'piscina (2 threads)', higherIsBetter: true },
  ];
}
