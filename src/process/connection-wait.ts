/**
 * `wait()` and `waitSync()`: Python's `multiprocessing.connection.wait`, over
 * Connections, queues and processes (or their sentinels). This file checks
 * the arguments and turns each object into what the engine watches
 * (channels/wait-ready.ts); it sits in process/ because it knows Process.
 */
import { describe, parseWait, type Wait } from '../checks.ts';
import { InvalidStateError, MultiprocError, ProcessNotStartedError } from '../errors.ts';
import { isWaitable, readiness, waitReady, waitReadySync, type Readiness } from '../channels/wait-ready.ts';
import type { Connection } from '../channels/connection.ts';
import type { Queue } from '../channels/queue.ts';
import type { SimpleQueue } from '../channels/simple-queue.ts';
import { Process } from './process.ts';
import type { ProcessSentinel } from './process-sentinel.ts';

/** What {@link wait} accepts: reading Connections, queues, processes and process sentinels. */
export type WaitObject = Connection | Queue<any> | SimpleQueue<any> | Process<any> | ProcessSentinel;

const EXPECTED = 'a readable Connection, a Queue, JoinableQueue or SimpleQueue, a started Process or a Process sentinel';

function watchOf(object: unknown, index: number, method: string): Readiness {
  const where = `${method}: objects[${index}]`;
  let waitable: unknown = object;
  if (object instanceof Process) {
    try {
      waitable = object.sentinel;
    } catch (error) {
      if (error instanceof ProcessNotStartedError) {
        throw new ProcessNotStartedError(`${where} (${object.name}) has not been started: a Process can be waited on once start() was called`);
      }
      throw new InvalidStateError(`${where} (${object.name}) cannot be waited on: ${(error as Error).message}`, { cause: error });
    }
  }
  if (!isWaitable(waitable)) throw new TypeError(`${where} must be ${EXPECTED}, got ${describe(object)}`);
  try {
    return waitable[readiness]();
  } catch (error) {
    if (error instanceof MultiprocError && !(error instanceof InvalidStateError)) throw error;
    // A closed handle, or the writing end of a one-way pipe: name the element.
    throw new InvalidStateError(`${where} (${describe(object)}) cannot be waited on: ${(error as Error).message}`, { cause: error });
  }
}

function watchAll<T>(objects: Iterable<T>, method: string): [T[], Readiness[]] {
  if (
    typeof objects !== 'object' ||
    objects === null ||
    typeof (objects as Partial<Iterable<T>>)[Symbol.iterator] !== 'function'
  ) {
    throw new TypeError(`${method}: objects must be an array (or iterable) of Connections, queues, Processes or Process sentinels, got ${describe(objects)}`);
  }
  const list = [...objects];
  return [list, list.map((object, i) => watchOf(object, i, method))];
}

/**
 * Python's `multiprocessing.connection.wait`: resolves with the subset of
 * `objects`, in their order, that are ready — a Connection that a recv would
 * not wait on (a message, or EOF), a queue that a get would not wait on (an
 * item), a Process or sentinel whose process has ended (`exitCode` is then
 * set) — waiting until one is, or until the timeout: a number of ms
 * (undefined or null: forever; 0 or negative: test once) or
 * `{ timeout, block, signal }`. Resolves with `[]` on timeout.
 */
export function wait<T extends WaitObject>(objects: Iterable<T>, timeout?: Wait): Promise<T[]> {
  try {
    const { timeout: ms, signal } = parseWait(timeout, 'wait', null);
    const [list, watched] = watchAll(objects, 'wait');
    return waitReady(list, watched, ms, signal);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Blocking form of {@link wait}, for synchronous code (e.g. a child). It
 * sleeps on every Connection's and queue's futex word at once; processes
 * are tested at least every 2 ms, so it never spins. A process counts as ended
 * as soon as the OS says so; its `exitCode` is set when the event loop next
 * runs (`await p.join()` then resolves at once).
 */
export function waitSync<T extends WaitObject>(objects: Iterable<T>, timeout?: Wait): T[] {
  const { timeout: ms } = parseWait(timeout, 'waitSync', null);
  const [list, watched] = watchAll(objects, 'waitSync');
  return waitReadySync(list, watched, ms);
}
