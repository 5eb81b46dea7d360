/**
 * The caller's side of manager.Pool(): the Pool API over a proxy. A task
 * function travels as a reference to its module and position (what a local
 * Pool sends its workers), without its source, and the manager's workers
 * import the module; so a task must be findable by importing its module
 * (module level, or exported). Items are read on the caller's side, as
 * Python's proxy pickles them. Callbacks run here, once the result is in.
 */
import { referenceFunction, type FunctionReference } from '../transfer/function-reference.ts';
import { checkChunksize, checkFunction, checkObject, checkOptionalFunction, describe } from '../checks.ts';
import { checkTimeout } from '../checks.ts';
import { BaseProxy, registerProxyType } from './proxy.ts';

/** Per-call options of a managed Pool: what crosses to the manager. */
export interface ManagedPoolCallOptions {
  /** Milliseconds each task (each chunk, for map) may run in the manager's pool. */
  timeout?: number | null;
  /** Items per task for the map family. */
  chunksize?: number;
}

/** Options of a managed Pool's applyAsync/mapAsync: callbacks run in the calling process. */
export interface ManagedPoolAsyncOptions<R> extends ManagedPoolCallOptions {
  callback?: ((result: R) => void) | null;
  errorCallback?: ((error: Error) => void) | null;
}

/** The proxy of a pending result in the manager's pool (Python's AsyncResult proxy). */
export interface AsyncResultProxy<R> extends BaseProxy {
  /** The result; rejects with the task's error, or TimeoutError after `timeoutMs`. */
  get(timeoutMs?: number | null): Promise<R>;
  wait(timeoutMs?: number | null): Promise<void>;
  ready(): Promise<boolean>;
  successful(): Promise<boolean>;
  getSync(timeoutMs?: number | null): R;
  waitSync(timeoutMs?: number | null): void;
  readySync(): boolean;
  successfulSync(): boolean;
}

interface IteratorProxy extends BaseProxy {
  next(): Promise<IteratorResult<unknown>>;
  nextSync(): IteratorResult<unknown>;
}

/** What travels for `fn`: its module and position, never its source. */
function taskReference(fn: unknown, method: string): Omit<FunctionReference, 'source' | 'enclosingNames' | 'moduleNames'> {
  checkFunction(fn, method);
  const { name, url, line, column, unreachable, bound } = referenceFunction(fn, `${method}: fn`);
  if (!url) {
    throw new TypeError(
      `${method}: fn '${fn.name || '<anonymous>'}' has no module; a manager's Pool sends functions by module, so define it in a module file`,
    );
  }
  return { name, url, line, column, unreachable, ...(bound ? { bound } : {}) };
}

function callOptions(options: ManagedPoolAsyncOptions<never>, method: string, map: boolean): ManagedPoolCallOptions {
  checkObject(options, `${method}: options`);
  const { timeout, chunksize, callback, errorCallback, ...rest } = options;
  const unknown = Object.keys(rest);
  if (unknown.length) throw new TypeError(`${method}: option '${unknown[0]}' is not supported by a manager's Pool`);
  checkTimeout(timeout, `${method}: timeout`);
  if (map) checkChunksize(chunksize, method);
  else if (chunksize !== undefined) throw new TypeError(`${method}: option 'chunksize' applies to the map family only`);
  checkOptionalFunction(callback, `${method}: callback`);
  checkOptionalFunction(errorCallback, `${method}: errorCallback`);
  return { ...(timeout !== undefined ? { timeout } : {}), ...(chunksize !== undefined ? { chunksize } : {}) };
}

function argList(args: unknown, method: string): unknown[] {
  if (args === undefined) return [];
  if (!Array.isArray(args)) throw new TypeError(`${method}: args must be an array, got ${describe(args)}`);
  return args;
}

function itemList(items: unknown, method: string, star: boolean): unknown[] {
  if (items === null || typeof items !== 'object' || !(Symbol.iterator in items)) {
    throw new TypeError(`${method}: items must be an iterable, got ${describe(items)}`);
  }
  const list = [...(items as Iterable<unknown>)];
  if (star) list.forEach((item, i) => argList(item, `${method}: items[${i}]`));
  return list;
}

/** Runs the caller's callbacks once the result in the manager is in. */
function withCallbacks<R>(result: AsyncResultProxy<R>, options: ManagedPoolAsyncOptions<R>): AsyncResultProxy<R> {
  const { callback, errorCallback } = options;
  if (callback || errorCallback) void result.get().then((value) => callback?.(value), (error: Error) => errorCallback?.(error));
  return result;
}

/** A Pool living in the manager: `await pool.map(fn, items)`, and `…Sync` forms for synchronous code. */
export class PoolProxy extends BaseProxy {
  /** Runs `fn(...args)` in the manager's pool and resolves with its result. */
  apply<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, args?: A, options: ManagedPoolCallOptions = {}): Promise<Awaited<R>> {
    return this.callMethod('apply', [taskReference(fn, 'apply'), argList(args, 'apply'), callOptions(options, 'apply', false)]) as Promise<Awaited<R>>;
  }

  /** Like apply, resolving at once with the proxy of an AsyncResult in the manager. */
  async applyAsync<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, args?: A, options: ManagedPoolAsyncOptions<Awaited<R>> = {}): Promise<AsyncResultProxy<Awaited<R>>> {
    const sent = [taskReference(fn, 'applyAsync'), argList(args, 'applyAsync'), callOptions(options as never, 'applyAsync', false)];
    return withCallbacks((await this.callMethod('applyAsync', sent)) as AsyncResultProxy<Awaited<R>>, options);
  }

  /** `fn` over every item, in order. */
  map<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): Promise<Awaited<R>[]> {
    return this.callMethod('map', [taskReference(fn, 'map'), itemList(items, 'map', false), callOptions(options, 'map', true)]) as Promise<Awaited<R>[]>;
  }

  /** Like map, resolving with the proxy of an AsyncResult. */
  async mapAsync<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolAsyncOptions<Awaited<R>[]> = {}): Promise<AsyncResultProxy<Awaited<R>[]>> {
    const sent = [taskReference(fn, 'mapAsync'), itemList(items, 'mapAsync', false), callOptions(options as never, 'mapAsync', true)];
    return withCallbacks((await this.callMethod('mapAsync', sent)) as AsyncResultProxy<Awaited<R>[]>, options);
  }

  /** `fn(...args)` for every argument list in `items`. */
  starmap<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, items: Iterable<A>, options: ManagedPoolCallOptions = {}): Promise<Awaited<R>[]> {
    const sent = [taskReference(fn, 'starmap'), itemList(items, 'starmap', true), callOptions(options, 'starmap', true)];
    return this.callMethod('starmap', sent) as Promise<Awaited<R>[]>;
  }

  /** Like starmap, resolving with the proxy of an AsyncResult. */
  async starmapAsync<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, items: Iterable<A>, options: ManagedPoolAsyncOptions<Awaited<R>[]> = {}): Promise<AsyncResultProxy<Awaited<R>[]>> {
    const sent = [taskReference(fn, 'starmapAsync'), itemList(items, 'starmapAsync', true), callOptions(options as never, 'starmapAsync', true)];
    return withCallbacks((await this.callMethod('starmapAsync', sent)) as AsyncResultProxy<Awaited<R>[]>, options);
  }

  /** Results in order as they come, one round trip each. */
  imap<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): AsyncGenerator<Awaited<R>, void, undefined> {
    return this.#iterate('imap', fn, items, options);
  }

  /** Like imap, in the order tasks complete. */
  imapUnordered<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): AsyncGenerator<Awaited<R>, void, undefined> {
    return this.#iterate('imapUnordered', fn, items, options);
  }

  /** Blocking apply, for synchronous code. */
  applySync<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, args?: A, options: ManagedPoolCallOptions = {}): Awaited<R> {
    return this.callMethodSync('apply', [taskReference(fn, 'applySync'), argList(args, 'applySync'), callOptions(options, 'applySync', false)]) as Awaited<R>;
  }

  /** Blocking applyAsync: the AsyncResult proxy at once (use its getSync()). */
  applyAsyncSync<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, args?: A, options: ManagedPoolCallOptions = {}): AsyncResultProxy<Awaited<R>> {
    const sent = [taskReference(fn, 'applyAsyncSync'), argList(args, 'applyAsyncSync'), callOptions(options, 'applyAsyncSync', false)];
    return this.callMethodSync('applyAsync', sent) as AsyncResultProxy<Awaited<R>>;
  }

  /** Blocking map. */
  mapSync<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): Awaited<R>[] {
    return this.callMethodSync('map', [taskReference(fn, 'mapSync'), itemList(items, 'mapSync', false), callOptions(options, 'mapSync', true)]) as Awaited<R>[];
  }

  /** Blocking mapAsync: the AsyncResult proxy at once. */
  mapAsyncSync<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): AsyncResultProxy<Awaited<R>[]> {
    const sent = [taskReference(fn, 'mapAsyncSync'), itemList(items, 'mapAsyncSync', false), callOptions(options, 'mapAsyncSync', true)];
    return this.callMethodSync('mapAsync', sent) as AsyncResultProxy<Awaited<R>[]>;
  }

  /** Blocking starmap. */
  starmapSync<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, items: Iterable<A>, options: ManagedPoolCallOptions = {}): Awaited<R>[] {
    const sent = [taskReference(fn, 'starmapSync'), itemList(items, 'starmapSync', true), callOptions(options, 'starmapSync', true)];
    return this.callMethodSync('starmap', sent) as Awaited<R>[];
  }

  /** Blocking starmapAsync: the AsyncResult proxy at once. */
  starmapAsyncSync<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>, items: Iterable<A>, options: ManagedPoolCallOptions = {}): AsyncResultProxy<Awaited<R>[]> {
    const sent = [taskReference(fn, 'starmapAsyncSync'), itemList(items, 'starmapAsyncSync', true), callOptions(options, 'starmapAsyncSync', true)];
    return this.callMethodSync('starmapAsync', sent) as AsyncResultProxy<Awaited<R>[]>;
  }

  /** Blocking imap: a generator whose every step blocks until the next result. */
  *imapSync<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): Generator<Awaited<R>, void, undefined> {
    yield* this.#iterateSync('imap', fn, items, options);
  }

  /** Blocking imapUnordered. */
  *imapUnorderedSync<T, R>(fn: (item: T) => R | PromiseLike<R>, items: Iterable<T>, options: ManagedPoolCallOptions = {}): Generator<Awaited<R>, void, undefined> {
    yield* this.#iterateSync('imapUnordered', fn, items, options);
  }

  /** No more tasks; the manager's workers exit once the submitted work is done. */
  close(): Promise<void> {
    return this.callMethod('close') as Promise<void>;
  }

  /** Stops the manager's workers now; unfinished tasks reject. */
  terminate(): Promise<void> {
    return this.callMethod('terminate') as Promise<void>;
  }

  /** Waits for the manager's workers to exit; call close() or terminate() first. */
  join(): Promise<void> {
    return this.callMethod('join') as Promise<void>;
  }

  /** Blocking close. */
  closeSync(): void {
    this.callMethodSync('close');
  }

  /** Blocking terminate. */
  terminateSync(): void {
    this.callMethodSync('terminate');
  }

  /** Blocking join. */
  joinSync(): void {
    this.callMethodSync('join');
  }

  async *#iterate<R>(method: string, fn: Function, items: Iterable<unknown>, options: ManagedPoolCallOptions): AsyncGenerator<R, void, undefined> {
    const sent = [taskReference(fn, method), itemList(items, method, false), callOptions(options, method, true)];
    const iterator = (await this.callMethod(method, sent)) as IteratorProxy;
    try {
      for (;;) {
        const step = await iterator.next();
        if (step.done) return;
        yield step.value as R;
      }
    } finally {
      iterator.dropReference();
    }
  }

  *#iterateSync<R>(method: string, fn: Function, items: Iterable<unknown>, options: ManagedPoolCallOptions): Generator<R, void, undefined> {
    const sent = [taskReference(fn, `${method}Sync`), itemList(items, `${method}Sync`, false), callOptions(options, `${method}Sync`, true)];
    const iterator = this.callMethodSync(method, sent) as IteratorProxy;
    try {
      for (;;) {
        const step = iterator.nextSync();
        if (step.done) return;
        yield step.value as R;
      }
    } finally {
      iterator.dropReference();
    }
  }
}

registerProxyType('Pool', PoolProxy);
