/**
 * Whether this Node can fork itself safely, and the one-line warning when it
 * cannot. Forking relies on how Node lays out V8's heap and libuv's loop,
 * which was checked on the majors listed here only; anything else boots
 * fresh Node for every child, as before.
 */
const CHECKED_MAJORS = new Set([20, 22, 24]);
let warned = false;
let canaryFailure: string | null = null;

/** Why forking is off here, or null when it is on. */
export function forkUnsupportedReason(): string | null {
  if (process.platform !== 'linux') return `fork() is used on Linux only (this is ${process.platform})`;
  const major = Number(process.versions.node.split('.')[0]);
  if (!CHECKED_MAJORS.has(major)) return `fork() was not checked on Node ${major}`;
  return canaryFailure;
}

/** Records that a zygote's canary child failed: no more forking in this program. */
export function recordCanaryFailure(reason: string): void {
  canaryFailure = `the fork canary failed: ${reason}`;
}

/** Says once per program that children are booted instead of forked, and why. */
export function warnForkFallback(reason: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(`multiproc: children boot a fresh Node instead of forking (${reason})`, {
    code: 'MULTIPROC_FORK_FALLBACK',
  });
}

/** How the current process was made: the main process, a booted Node, or a fork of a zygote. */
export type ProcessOrigin = 'main' | 'booted' | 'forked';
let origin: ProcessOrigin = 'main';

/** How the current process was made; 'forked' children inherited memory, 'booted' ones imported their modules anew. */
export function processOrigin(): ProcessOrigin {
  return origin;
}

export function setProcessOrigin(value: ProcessOrigin): void {
  origin = value;
}
