/**
 * Python's manager.Pool(): a Pool living in the manager process, so that any
 * process connected to the manager can run tasks on it. Task functions
 * arrive as references (module, position, name), never as code: the manager
 * hands each reference to its workers through a stand-in, and only the
 * workers import the module, as a local Pool's do. A reference without a
 * module is refused here, and its source, if a peer sent one, is dropped.
 */
import { AsyncResult } from '../pool/async-result.ts';
import { Pool } from '../pool/pool.ts';
import { standInFor, type FunctionReference } from '../transfer/function-reference.ts';
import { PROXYTYPE, RELAY_ERROR, RELEASE_REFERENT } from './protocol.ts';

/** Options a managed Pool's tasks take across the manager (the rest are callbacks or signals, which stay with the caller). */
export interface ManagedTaskOptions {
  timeout?: number | null;
  chunksize?: number;
}

/** Options of manager.Pool() as they reach the manager: the initializer by reference. */
export interface ManagedPoolOptions {
  processes?: number | null;
  initializer?: FunctionReference | null;
  initargs?: unknown[];
  maxTasksPerChild?: number | null;
}

/** Checks a function reference a peer sent, and keeps only what finds the function by its module. */
export function checkedReference(value: unknown, label: string): FunctionReference {
  const ref = value as Partial<FunctionReference> | null;
  const ok =
    typeof ref === 'object' &&
    ref !== null &&
    typeof ref.name === 'string' &&
    typeof ref.url === 'string' &&
    (ref.url.startsWith('file:') || ref.url.startsWith('/')) &&
    Number.isInteger(ref.line) &&
    Number.isInteger(ref.column) &&
    (ref.bound === undefined || (typeof ref.bound === 'object' && ref.bound !== null && Array.isArray(ref.bound.args)));
  if (!ok) throw new TypeError(`${label} must be a function reference with a module file; got ${typeof value}`);
  return {
    name: ref.name!,
    url: ref.url!,
    line: ref.line!,
    column: ref.column!,
    // Source never reaches the workers from here: a managed Pool runs only what importing a module gives.
    source: '',
    enclosingNames: [],
    moduleNames: [],
    unreachable: ref.unreachable === true,
    ...(ref.bound ? { bound: ref.bound } : {}),
  };
}

const standIns = new Map<string, Function>();

/** One stand-in per unbound function, so that the pool's table of functions stays one entry per function. */
function taskFunction(value: unknown, label: string): Function {
  const ref = checkedReference(value, label);
  if (ref.bound) return standInFor(ref);
  const key = `${ref.url}:${ref.line}:${ref.column}:${ref.name}:${ref.unreachable}`;
  let fn = standIns.get(key);
  if (!fn) standIns.set(key, (fn = standInFor(ref)));
  return fn;
}

function taskOptions(options: unknown, method: string): ManagedTaskOptions {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object') throw new TypeError(`${method}: options must be an object`);
  const { timeout, chunksize } = options as ManagedTaskOptions;
  return { ...(timeout !== undefined ? { timeout } : {}), ...(chunksize !== undefined ? { chunksize } : {}) };
}

/** Marks a task's error so that the server sends it with its class by reference. */
function relayed<T>(promise: PromiseLike<T>): Promise<T> {
  return Promise.resolve(promise).catch((error: unknown) => {
    if (error instanceof Error) (error as { [RELAY_ERROR]?: boolean })[RELAY_ERROR] = true;
    throw error;
  });
}

/** The referent behind an AsyncResult proxy: Python's get/wait/ready/successful. */
export class ManagedAsyncResult {
  static readonly [PROXYTYPE] = 'AsyncResult';
  readonly #result: AsyncResult<any>;

  constructor(result: AsyncResult<any>) {
    this.#result = result;
  }

  /** The result, or the task's error; TimeoutError after `timeoutMs`. */
  get(timeoutMs?: number | null): Promise<unknown> {
    return relayed(this.#result.get(timeoutMs));
  }

  wait(timeoutMs?: number | null): Promise<void> {
    return this.#result.wait(timeoutMs);
  }

  ready(): boolean {
    return this.#result.ready();
  }

  successful(): boolean {
    return this.#result.successful();
  }
}

/** The referent behind imap/imapUnordered: results handed out in batches, so one round trip carries many. */
export class ManagedIterator {
  static readonly [PROXYTYPE] = 'Iterator';
  readonly #source: AsyncGenerator<unknown, void, undefined>;

  constructor(source: AsyncGenerator<unknown, void, undefined>) {
    this.#source = source;
  }

  /** The next result, waiting for it: `{ done, value }` as an iterator's. */
  async next(): Promise<IteratorResult<unknown, void>> {
    return relayed(this.#source.next());
  }

  [RELEASE_REFERENT](): void {
    void this.#source.return(undefined).catch(() => {});
  }
}

/** The referent behind manager.Pool(). */
export class ManagedPool {
  static readonly [PROXYTYPE] = 'Pool';
  readonly #pool: Pool;

  constructor(options: ManagedPoolOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('Pool options must be an object');
    const { processes, initializer, initargs, maxTasksPerChild } = options;
    this.#pool = new Pool({
      processes,
      initializer: initializer ? (taskFunction(initializer, "Pool option 'initializer'") as (...args: unknown[]) => unknown) : null,
      initargs,
      maxTasksPerChild,
    });
  }

  apply(fn: unknown, args: unknown[], options?: ManagedTaskOptions): Promise<unknown> {
    return relayed(this.#pool.apply(taskFunction(fn, 'apply: fn') as () => unknown, args as [], taskOptions(options, 'apply')));
  }

  applyAsync(fn: unknown, args: unknown[], options?: ManagedTaskOptions): ManagedAsyncResult {
    return new ManagedAsyncResult(this.#pool.applyAsync(taskFunction(fn, 'applyAsync: fn') as () => unknown, args as [], taskOptions(options, 'applyAsync')));
  }

  map(fn: unknown, items: unknown[], options?: ManagedTaskOptions): Promise<unknown[]> {
    return relayed(this.#pool.map(taskFunction(fn, 'map: fn') as (x: unknown) => unknown, items, taskOptions(options, 'map')));
  }

  mapAsync(fn: unknown, items: unknown[], options?: ManagedTaskOptions): ManagedAsyncResult {
    return new ManagedAsyncResult(this.#pool.mapAsync(taskFunction(fn, 'mapAsync: fn') as (x: unknown) => unknown, items, taskOptions(options, 'mapAsync')));
  }

  starmap(fn: unknown, items: unknown[][], options?: ManagedTaskOptions): Promise<unknown[]> {
    return relayed(this.#pool.starmap(taskFunction(fn, 'starmap: fn') as () => unknown, items as [][], taskOptions(options, 'starmap')));
  }

  starmapAsync(fn: unknown, items: unknown[][], options?: ManagedTaskOptions): ManagedAsyncResult {
    const result = this.#pool.starmapAsync(taskFunction(fn, 'starmapAsync: fn') as () => unknown, items as [][], taskOptions(options, 'starmapAsync'));
    return new ManagedAsyncResult(result);
  }

  imap(fn: unknown, items: unknown[], options?: ManagedTaskOptions): ManagedIterator {
    return new ManagedIterator(this.#pool.imap(taskFunction(fn, 'imap: fn') as (x: unknown) => unknown, items, taskOptions(options, 'imap')));
  }

  imapUnordered(fn: unknown, items: unknown[], options?: ManagedTaskOptions): ManagedIterator {
    const source = this.#pool.imapUnordered(taskFunction(fn, 'imapUnordered: fn') as (x: unknown) => unknown, items, taskOptions(options, 'imapUnordered'));
    return new ManagedIterator(source);
  }

  close(): void {
    this.#pool.close();
  }

  terminate(): void {
    this.#pool.terminate();
  }

  join(): Promise<void> {
    return this.#pool.join();
  }

  /** Freed (no proxy left) or the manager stops: the workers go with it, as Python's pool finalizer does. */
  [RELEASE_REFERENT](): void {
    this.#pool.terminate();
    void this.#pool.join().catch(() => {});
  }
}
