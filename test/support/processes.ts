// Whether a pid still runs, as the tests see it: a zombie has exited.
import { readFileSync } from 'node:fs';

export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function isGone(pid: number): boolean {
  return !isRunning(pid);
}

/**
 * Spins, synchronously, until child `pid` is a zombie (exited, not yet
 * reaped): nothing on this thread can reap it meanwhile, so the caller's
 * next step sees it unreaped. Throws after `boundMs`.
 */
export function waitUntilZombieSync(pid: number, boundMs = 30_000): void {
  const deadline = Date.now() + boundMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) throw new Error(`waited ${boundMs} ms for child ${pid} to exit`);
  }
}
