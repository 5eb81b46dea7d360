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
 * Sync form: a thread can sleep on one futex word only. It sleeps on the
 * first futex-backed object's word (waking at once for it) in slices that
 * start at MIN_SLICE_MS and double up to MAX_SLICE_MS, re-testing every
 * object after each: others are seen at most MAX_SLICE_MS late, and the
 * thread never spins. With a single futex-backed object and nothing else it
 * sleeps in long slices. Objects without a futex word (processes) are tested
 * after each slice.
 */
import { futexWait, futexWaitAsync, type FutexWaitResult } from '../platform/native.ts';
import { countedWait } from '../sync/counted-wait.ts';
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
/** The sync form's shortest and longest sleep when it watches more than one word's worth of objects. */
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

/** Blocking form of {@link waitReady} (see the header for how it sleeps). */
export function waitReadySync<T>(objects: readonly T[], watched: readonly Readiness[], timeoutMs: number): T[] {
  const deadline = new Deadline(timeoutMs);
  const primary = watched.find((r) => r.target)?.target;
  const alone = watched.length === 1 && primary !== undefined;
  let slice = MIN_SLICE_MS;
  let checkedPeers = performance.now();
  for (;;) {
    const seq = primary ? Atomics.load(primary.i32, primary.word) : 0;
    const ready = readyOnes(objects, watched, true);
    if (ready.length > 0 || objects.length === 0) return ready;
    const ms = deadline.slice(alone ? SLICE_MS : slice);
    if (ms <= 0) return ready;
    const outcome: FutexWaitResult = primary
      ? runSync(countedWait(primary.i32, primary.word, primary.word + 1, seq, ms))
      : futexWait(TIMER, 0, 0, ms);
    if (outcome === 'timed-out') slice = Math.min(slice * 2, MAX_SLICE_MS);
    const now = performance.now();
    if (now - checkedPeers >= SLICE_MS) {
      checkedPeers = now;
      for (const r of watched) r.target?.onSlice?.();
    }
  }
}
