/**
 * The canary: what a zygote's first forked child checks before the zygote
 * serves any start(). It covers the things a fork can break in Node (the
 * event loop's timers, libuv's thread pool, V8's garbage collector and its
 * optimizing compiler); if any fails or hangs, the program boots children
 * instead of forking them.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How long the zygote waits for its canary; a forked child that hangs fails it. */
export const CANARY_TIMEOUT_MS = 20_000;

/** Integer arithmetic only, so that optimized it is quick (a float modulo took ~60 ms here). */
function hotLoop(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum = (sum + Math.imul(i, i)) | 0;
  return sum;
}

/** V8's full collection, made callable in this (forked, soon gone) process only. */
function fullCollector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Runs in the canary child; throws if something does not work. */
export async function runCanaryChecks(): Promise<void> {
  await sleep(1);
  const stat = await readFile('/proc/self/stat', 'utf8');
  if (!stat.startsWith(`${process.pid} `)) throw new Error(`async fs read the wrong /proc/self/stat: ${stat.slice(0, 20)}`);
  // Enough short-lived garbage for several scavenges, then a full mark-compact on demand
  // (allocation alone did not always reach one).
  let kept: number[][] = [];
  for (let round = 0; round < 4; round++) {
    kept = Array.from({ length: 2_000 }, (_, i) => new Array(64).fill(i + round));
  }
  fullCollector()();
  if (kept.length !== 2_000 || kept[1_999][63] !== 1_999 + 3) throw new Error('a collection lost or changed objects');
  // Hot enough to be optimized; a result check, not a timing one.
  if (hotLoop(1_000_000) !== hotLoop(1_000_000)) throw new Error('the optimized loop disagreed with itself');
}
