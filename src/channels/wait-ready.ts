/**
 * Waiting until any of several objects is ready, the engine behind the
 * public `wait()` / `waitSync()` (Python's multiprocessing.connection.wait).
 * An object takes part by answering the `readiness` symbol with a
 * {@link Readiness}: a cheap "ready now?" test, and what to sleep on — the
 * futex word that changes when it may have become ready (connections and
 * queues: the ring's data word), and/or a notification from this process's
 * event loop (a child's exit, a local close).
 *
 * Async form: one futex waiter per futex word (each a counted-wait plan run
 * by runAsync, in slices so that a dead peer is noticed), the local
 * notifications, and one ref'd futex wait on a private word that is both the
 * timeout and what keeps the event loop alive meanwhile. The first to fire
 * ends the round; every other waiter is cancelled and every subscription
 * dropped before the promise settles, so nothing outlives the call.
 *
 * Sync form: the thread sleeps on every object's futex word at once
 * (futex_waitv, counted in each word's sleepers cell as countedWait does),
 * so any of them wakes it at once; in long slices when only such objects
 * are watched. Objects without a futex word (processes) can only be tested:
 * with them, slices start at MIN_SLICE_MS and double up to MAX_SLICE_MS, so
 * an exit is seen at most MAX_SLICE_MS late and the thread never spins.
 * Where the kernel lacks futex_waitv (Linux < 5.16) or above 128 words, it
 * sleeps on the first word only, with the same growing slices for the rest.
 */
import { FUTEX_WAIT_ANY_MAX, futexWait, futexWaitAsync, type FutexWaitResult } from '../platform/native.ts';
import { countedWait, countedWaitAnySync } from '../sync/counted-wait.ts';
import { Deadline, runAsync, runSync, type WaitPlan } from '../sync/wait-plan.ts';
import type { WaitTarget } from './shm-ring-wait.ts';

/** @internal The method by which an object tells wait() how to watch it. */
export const readiness = Symbol('multiproc.readiness');

/** @internal How wait() watches one object. */
export interface Readiness {
  /** Whether the object is ready now, as this process's event loop sees it (async form). */
  ready(): boolean;
  /** Whether it is ready now for a blocked thread (sync form), when that differs: a child's exit the loop has not reaped yet. */
  readySync?(): boolean;
  /** The futex word (with its sleepers count at word + 1) that changes when the object may have become ready. */
  target?: WaitTarget;
  /** Calls `notify` when the object may have become ready by an event of this process; returns the unsubscription. */
  subscribe?(notify: () => void): () => void;
}

/** @internal An object wait() can watch. */
export interface Waitable {
  [readiness](): Readiness;
}

/** Whether `value` takes part in wait(). */
export function isWaitable(value: unknown): value is Waitable {
  return typeof value === 'object' && value !== null && typeof (value as Partial<Waitable>)[readiness] === 'function';
}

/** A futex sleep slice after which dead peers are looked for (as the ring waits do). */
const SLICE_MS = 100;
/** The sync form's shortest and longest sleep while it watches objects it can only test (processes). */
const MIN_SLICE_MS = 0.05;
const MAX_SLICE_MS = 2;

/** A private word nobody wakes: sleeping on it is a timer (sync) or a cancellable, ref'd timeout (async). */
const TIMER = new Int32Array(new SharedArrayBuffer(4));

function readyOnes<T>(objects: readonly T[], watched: readonly Readiness[], sync: boolean): T[] {
  const ready: T[] = [];
  for (let i = 0; i < objects.length; i++) {
    const r = watched[i]!;
    if ((sync && r.readySync) ? r.readySync() : r.ready()) ready.push(objects[i]!);
  }
  return ready;
}

/** Sleeps on one object's word until it is ready, in slices that let its ring notice dead peers. Cancelled by the round's end. */
function* untilReady(r: Readiness): WaitPlan<void> {
  const { i32, word, onSlice } = r.target!;
  for (;;) {
    const seq = Atomics.load(i32, word);
    if (r.ready()) return;
    const outcome = yield* countedWait(i32, word, word + 1, seq, SLICE_MS);
    if (outcome === 'timed-out') onSlice?.();
  }
}

/**
 * One round of the async form: settles when some object may be ready, the
 * time is up, or `signal` aborts (then rejects with its reason) — and only
 * once every futex waiter of the round has ended, so none outlives it.
 */
function oneRound(watched: readonly Readiness[], timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stop = new AbortController();
    const cancel = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const unsubscribe: (() => void)[] = [];
    const waiters: Promise<unknown>[] = [];
    const end = (error?: { reason: unknown }): void => {
      if (stop.signal.aborted) return;
      stop.abort();
      for (const drop of unsubscribe) drop();
      void Promise.allSettled(waiters).then(() => (error ? reject(error.reason) : resolve()));
    };
    const fired = (): void => end();
    // A waiter rejects only when cancelled: by the end of the round (ignored) or by the caller's signal.
    const failed = (reason: unknown): void => end({ reason: signal?.aborted ? signal.reason : reason });
    for (const r of watched) {
      if (r.target) waiters.push(runAsync(untilReady(r), cancel).then(fired, failed));
      if (r.subscribe && !stop.signal.aborted) unsubscribe.push(r.subscribe(fired));
    }
    // Also what keeps the program alive while only processes are watched (a daemon child does not).
    waiters.push(futexWaitAsync(TIMER, 0, 0, timeoutMs, { signal: cancel }).then(fired, failed));
  });
}

/**
 * Resolves with the objects (in their order) whose readiness says ready,
 * waiting up to `timeoutMs` (Infinity: forever; 0: test once) for one to be;
 * rejects with the signal's reason if it aborts first.
 */
export async function waitReady<T>(objects: readonly T[], watched: readonly Readiness[], timeoutMs: number, signal?: AbortSignal): Promise<T[]> {
  signal?.throwIfAborted();
  const deadline = new Deadline(timeoutMs);
  for (;;) {
    const ready = readyOnes(objects, watched, false);
    if (ready.length > 0) return ready;
    const left = deadline.remaining();
    // Another process may take what woke us (a queue item): then wait on, until the deadline.
    if (left <= 0 || objects.length === 0) return ready;
    await oneRound(watched, left, signal);
  }
}

/** Set once the kernel refused futex_waitv (Linux < 5.16): the sync form then sleeps on one word. */
let waitAnyUnsupported = false;

/** The distinct futex words of the watched objects (two handles of one pipe end share theirs). */
function distinctTargets(watched: readonly Readiness[]): WaitTarget[] {
  const seen = new Map<Int32Array, Set<number>>();
  const targets: WaitTarget[] = [];
  for (const { target } of watched) {
    if (!target) continue;
    const words = seen.get(target.i32) ?? new Set<number>();
    seen.set(target.i32, words);
    if (words.has(target.word)) continue;
    words.add(target.word);
    targets.push(target);
  }
  return targets;
}

/** Blocking form of {@link waitReady} (see the header for how it sleeps). */
export function waitReadySync<T>(objects: readonly T[], watched: readonly Readiness[], timeoutMs: number): T[] {
  const deadline = new Deadline(timeoutMs);
  const targets = distinctTargets(watched);
  // Objects without a futex word (processes) can only be tested, after each slice.
  const untargeted = watched.some((r) => !r.target);
  let slice = MIN_SLICE_MS;
  let checkedPeers = performance.now();
  for (;;) {
    const seqs = targets.map(({ i32, word }) => Atomics.load(i32, word));
    const ready = readyOnes(objects, watched, true);
    if (ready.length > 0 || objects.length === 0) return ready;
    const onAll = targets.length > 1 && targets.length <= FUTEX_WAIT_ANY_MAX && !waitAnyUnsupported;
    const backingOff = untargeted || (targets.length > 1 && !onAll);
    const ms = deadline.slice(backingOff ? slice : SLICE_MS);
    if (ms <= 0) return ready;
    let outcome: FutexWaitResult | 'unsupported';
    if (targets.length === 0) {
      outcome = futexWait(TIMER, 0, 0, ms);
    } else if (onAll) {
      outcome = countedWaitAnySync(
        targets.map(({ i32, word }, i) => ({ i32, word, sleepers: word + 1, expected: seqs[i]! })),
        ms,
      );
      if (outcome === 'unsupported') {
        waitAnyUnsupported = true;
        continue;
      }
    } else {
      const { i32, word } = targets[0]!;
      outcome = runSync(countedWait(i32, word, word + 1, seqs[0]!, ms));
    }
    if (outcome === 'timed-out') slice = Math.min(slice * 2, MAX_SLICE_MS);
    const now = performance.now();
    if (now - checkedPeers >= SLICE_MS) {
      checkedPeers = now;
      for (const target of targets) target.onSlice?.();
    }
  }
}
