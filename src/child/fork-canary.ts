/**
 * The canary: what a zygote's first forked child checks before the zygote
 * serves any start(). It covers the things a fork can break in Node (the
 * event loop's timers, libuv's thread pool, V8's garbage collector and its
 * optimizing compiler); if any fails or hangs, the program boots children
 * instead of forking them.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long the zygote waits for its canary; a forked child that hangs fails it. */
export const CANARY_TIMEOUT_MS = 20_000;

function hotLoop(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum = (sum + i * i) % 1_000_003;
  return sum;
}

/** Runs in the canary child; throws if something does not work. */
export async function runCanaryChecks(): Promise<void> {
  await sleep(1);
  const stat = await readFile('/proc/self/stat', 'utf8');
  if (!stat.startsWith(`${process.pid} `)) throw new Error(`async fs read the wrong /proc/self/stat: ${stat.slice(0, 20)}`);
  // Enough short-lived garbage for several scavenges and a mark-compact.
  let kept: number[][] = [];
  for (let round = 0; round < 40; round++) {
    kept = Array.from({ length: 2_000 }, (_, i) => new Array(64).fill(i + round));
  }
  if (kept.length !== 2_000) throw new Error('allocation lost objects');
  // Hot enough to be optimized; a result check, not a timing one.
  if (hotLoop(3_000_000) !== hotLoop(3_000_000)) throw new Error('the optimized loop disagreed with itself');
}
