/**
 * SyncManager and Manager(): Python's multiprocessing.Manager(), a started
 * manager with the shared types registered. The factories are module-level
 * functions, so the server process finds them by importing this module.
 */
import { BaseManager, type BaseManagerOptions } from './base-manager.ts';
import type { Proxy } from './proxy.ts';
import { ManagedArray, ManagedDict, ManagedList, ManagedNamespace, ManagedValue } from './referents-containers.ts';
import { ManagedJoinableQueue, ManagedQueue } from './referents-queue.ts';
import { ManagedPool, type ManagedPoolOptions } from './referents-pool.ts';
import { PoolProxy } from './pool-proxy.ts';
import { referenceFunction } from '../transfer/function-reference.ts';
import { checkObject, checkOptionalFunction, checkProcesses } from '../checks.ts';
import {
  ManagedBarrier,
  ManagedCondition,
  ManagedEvent,
  ManagedLock,
  ManagedRLock,
  ManagedSemaphore,
  type ManagedWaitOptions,
} from './referents-sync.ts';

export const makeDict = (initial?: Iterable<[unknown, unknown]> | Record<string, unknown>) => new ManagedDict(initial);
export const makeList = (initial?: unknown[]) => new ManagedList(initial);
export const makeNamespace = (initial?: Record<string, unknown>) => new ManagedNamespace(initial);
export const makeValue = (typecode: string, value: number | bigint) => new ManagedValue(typecode, value);
export const makeArray = (typecode: string, sizeOrItems: number | (number | bigint)[]) => new ManagedArray(typecode, sizeOrItems);
export const makeQueue = (maxsize?: number) => new ManagedQueue(maxsize);
export const makeJoinableQueue = (maxsize?: number) => new ManagedJoinableQueue(maxsize);
export const makeLock = () => new ManagedLock();
export const makeRLock = () => new ManagedRLock();
export const makeSemaphore = (value = 1) => new ManagedSemaphore(value);
export const makeBoundedSemaphore = (value = 1) => new ManagedSemaphore(value, value);
export const makeCondition = () => new ManagedCondition();
export const makeEvent = () => new ManagedEvent();
export const makeBarrier = (parties: number, options?: ManagedWaitOptions) => new ManagedBarrier(parties, options);
export const makePool = (options?: ManagedPoolOptions) => new ManagedPool(options);

/** Options of manager.Pool(): Python's Pool(processes, initializer, initargs, maxtasksperchild). */
export interface ManagedPoolCreateOptions {
  processes?: number | null;
  /** Module-level function each worker runs at start; it travels by reference, as tasks do. */
  initializer?: ((...args: any[]) => unknown) | null;
  initargs?: unknown[];
  maxTasksPerChild?: number | null;
}

const LOCK = ['acquire', 'release', 'locked'];
const QUEUE = ['put', 'get', 'putNowait', 'getNowait', 'qsize', 'empty', 'full'];

/** Python's SyncManager: a BaseManager with dict, list, Namespace, Value, Array, queues and locks registered. */
export class SyncManager extends BaseManager {
  /** A managed Map (Python's dict); keys compare as Map keys. */
  dict<K = unknown, V = unknown>(initial?: Iterable<[K, V]> | Record<string, V>): Promise<Proxy<ManagedDict<K, V>>> {
    return this.create('dict', initial === undefined ? undefined : initial instanceof Map ? [...initial] : initial);
  }

  /** A managed array (Python's list). */
  list<T = unknown>(initial?: Iterable<T>): Promise<Proxy<ManagedList<T>>> {
    return this.create('list', initial === undefined ? undefined : [...initial]);
  }

  /** Named attributes: `await ns.get('x')`, `await ns.set('x', 1)`. */
  Namespace(initial?: Record<string, unknown>): Promise<Proxy<ManagedNamespace>> {
    return this.create('Namespace', initial);
  }

  Value(typecode: string, value: number | bigint): Promise<Proxy<ManagedValue>> {
    return this.create('Value', typecode, value);
  }

  Array(typecode: string, sizeOrItems: number | (number | bigint)[]): Promise<Proxy<ManagedArray>> {
    return this.create('Array', typecode, sizeOrItems);
  }

  Queue<T = unknown>(maxsize = 0): Promise<Proxy<ManagedQueue<T>>> {
    return this.create('Queue', maxsize);
  }

  JoinableQueue<T = unknown>(maxsize = 0): Promise<Proxy<ManagedJoinableQueue<T>>> {
    return this.create('JoinableQueue', maxsize);
  }

  Lock(): Promise<Proxy<ManagedLock>> {
    return this.create('Lock');
  }

  RLock(): Promise<Proxy<ManagedRLock>> {
    return this.create('RLock');
  }

  Semaphore(value = 1): Promise<Proxy<ManagedSemaphore>> {
    return this.create('Semaphore', value);
  }

  BoundedSemaphore(value = 1): Promise<Proxy<ManagedSemaphore>> {
    return this.create('BoundedSemaphore', value);
  }

  Condition(): Promise<Proxy<ManagedCondition>> {
    return this.create('Condition');
  }

  Event(): Promise<Proxy<ManagedEvent>> {
    return this.create('Event');
  }

  Barrier(parties: number, options?: ManagedWaitOptions): Promise<Proxy<ManagedBarrier>> {
    return this.create('Barrier', parties, options);
  }

  /** A Pool living in the manager process; any process with its proxy runs tasks on it. */
  Pool(options: ManagedPoolCreateOptions = {}): Promise<PoolProxy> {
    checkObject(options, 'Pool options');
    const { processes, initializer, initargs, maxTasksPerChild, ...rest } = options;
    const unknown = Object.keys(rest);
    if (unknown.length) throw new TypeError(`Pool option '${unknown[0]}' is not supported by a manager's Pool`);
    checkProcesses(processes, "Pool option 'processes'");
    checkOptionalFunction(initializer, "Pool option 'initializer'");
    if (initargs !== undefined && !Array.isArray(initargs)) throw new TypeError("Pool option 'initargs' must be an array");
    let reference;
    if (initializer) {
      const { name, url, line, column, unreachable, bound } = referenceFunction(initializer, "Pool option 'initializer'");
      if (!url) throw new TypeError("Pool option 'initializer' must be defined in a module file: a manager's Pool sends functions by module");
      reference = { name, url, line, column, unreachable, ...(bound ? { bound } : {}) };
    }
    return this.create('Pool', { processes, initializer: reference ?? null, initargs, maxTasksPerChild });
  }
}

const builtins: [string, Function, readonly string[], Record<string, string>?][] = [
  ['dict', makeDict, ['get', 'set', 'has', 'delete', 'size', 'clear', 'keys', 'values', 'entries', 'copy', 'pop', 'popitem', 'setdefault', 'update', 'increment']],
  ['list', makeList, ['get', 'set', 'push', 'extend', 'pop', 'insert', 'remove', 'index', 'count', 'length', 'slice', 'reverse', 'sort', 'clear', 'toArray']],
  ['Namespace', makeNamespace, ['get', 'set', 'has', 'delete', 'toObject']],
  ['Value', makeValue, ['get', 'set', 'increment']],
  ['Array', makeArray, ['get', 'set', 'length', 'slice', 'toArray']],
  ['Queue', makeQueue, QUEUE],
  ['JoinableQueue', makeJoinableQueue, [...QUEUE, 'taskDone', 'join']],
  ['Lock', makeLock, LOCK],
  ['RLock', makeRLock, LOCK],
  ['Semaphore', makeSemaphore, ['acquire', 'release', 'getValue']],
  ['BoundedSemaphore', makeBoundedSemaphore, ['acquire', 'release', 'getValue']],
  ['Condition', makeCondition, ['acquire', 'release', 'wait', 'notify', 'notifyAll']],
  ['Event', makeEvent, ['isSet', 'set', 'clear', 'wait']],
  ['Barrier', makeBarrier, ['wait', 'abort', 'reset', 'parties', 'nWaiting', 'isBroken']],
  ['Pool', makePool, ['apply', 'applyAsync', 'map', 'mapAsync', 'starmap', 'starmapAsync', 'imap', 'imapUnordered', 'close', 'terminate', 'join'], {
    applyAsync: 'AsyncResult', mapAsync: 'AsyncResult', starmapAsync: 'AsyncResult', imap: 'Iterator', imapUnordered: 'Iterator',
  }],
];
// The typed methods above create these; register() must not replace them.
for (const [typeid, factory, exposed, methodToTypeid] of builtins) SyncManager.register(typeid, factory, { exposed, methodToTypeid, create: false });

/** Options of Manager(). */
export type ManagerOptions = Omit<BaseManagerOptions, 'address'> & { address?: string };

/** Starts a SyncManager's server process and resolves with the manager (Python's multiprocessing.Manager()). */
export async function Manager(options: ManagerOptions = {}): Promise<SyncManager> {
  const manager = new SyncManager(options);
  await manager.start();
  return manager;
}
