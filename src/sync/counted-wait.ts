/**
 * The futex protocol every sleeping primitive shares (event, mutex,
 * semaphore, ring waits): a waiter counts itself in a sleepers cell before
 * it sleeps on a word and uncounts itself after, and a waker makes the wake
 * system call only when that count is non-zero — no syscall when nobody
 * sleeps. Safe because both sides are sequentially consistent: the waiter
 * counts itself before the kernel re-reads the word, and the waker changes
 * the word before it reads the count, so either the waker sees the sleeper
 * or the sleeper sees the word change.
 */
import { futexWaitAny, futexWake, type FutexWaitResult } from '../platform/native.ts';
import type { WaitPlan } from './wait-plan.ts';

/** Sleeps on `i32[word]` while it equals `expected`, at most `timeoutMs`, counted in `i32[sleepers]`. */
export function* countedWait(
  i32: Int32Array,
  word: number,
  sleepers: number,
  expected: number,
  timeoutMs: number,
): WaitPlan<FutexWaitResult> {
  Atomics.add(i32, sleepers, 1);
  try {
    return yield { i32, index: word, expected, timeoutMs };
  } finally {
    Atomics.sub(i32, sleepers, 1);
  }
}

/** Wakes up to `count` sleepers on `i32[word]`, if `i32[sleepers]` says any may sleep. Call after changing the word. */
export function wakeCounted(i32: Int32Array, word: number, sleepers: number, count: number): void {
  if (Atomics.load(i32, sleepers) > 0) futexWake(i32, word, count);
}

/** One word of {@link countedWaitAnySync}: sleep while `i32[word]` equals `expected`, counted in `i32[sleepers]`. */
export interface CountedWord {
  i32: Int32Array;
  word: number;
  sleepers: number;
  expected: number;
}

/**
 * Blocks the thread on several words at once (futex_waitv), counted in each
 * word's sleepers cell as countedWait is, until one is woken or changed, or
 * `timeoutMs` passes. 'unsupported' (nothing slept) on kernels without
 * futex_waitv; at most FUTEX_WAIT_ANY_MAX words.
 */
export function countedWaitAnySync(words: readonly CountedWord[], timeoutMs: number): FutexWaitResult | 'unsupported' {
  for (const { i32, sleepers } of words) Atomics.add(i32, sleepers, 1);
  try {
    return futexWaitAny(
      words.map((w) => w.i32),
      words.map((w) => w.word),
      words.map((w) => w.expected),
      timeoutMs,
    );
  } finally {
    for (const { i32, sleepers } of words) Atomics.sub(i32, sleepers, 1);
  }
}
