// A CPU-heavy map over a process pool, drawn as a progress bar by
// `progress: true` (plain lines when stderr is not a terminal), and the
// speed-up over the same work in a serial loop.
import { Pool, cpuCount, isMainModule } from 'multiproc';

// CPU-bound work: the workers import this module again and find it here.
export function work(seed: number): number {
  let acc = seed;
  for (let i = 0; i < 2_000_000; i++) acc = (acc * 1_103_515_245 + 12_345 + i) % 2_147_483_648;
  return acc;
}

// protect entry point: the workers import this module too
if (isMainModule(import.meta)) {
  const inputs = Array.from({ length: 48 }, (_, i) => i);

  let start = performance.now();
  const serial = inputs.map(work);
  const serialMs = performance.now() - start;
  console.log(`serial loop: ${inputs.length} tasks in ${serialMs.toFixed(0)} ms`);

  const processes = cpuCount();
  await using pool = new Pool({ processes });
  // A first tiny call, so the timing below is the map, not the workers' start-up.
  await pool.apply(work, [0]);
  start = performance.now();
  const parallel = await pool.map(work, inputs, { chunksize: 1, progress: true });
  const poolMs = performance.now() - start;

  const same = parallel.every((value, i) => value === serial[i]);
  console.log(`pool of ${processes}: ${inputs.length} tasks in ${poolMs.toFixed(0)} ms (same results: ${same})`);
  console.log(`speed-up: ${(serialMs / poolMs).toFixed(2)}x`);
}
