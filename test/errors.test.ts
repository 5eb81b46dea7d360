// One error family: every error class exported by the library is a MultiprocError with a stable code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as mp from '../src/index.ts';
import * as cluster from '../src/cluster/index.ts';
import { identity } from './fixtures/pool-tasks.ts';
import { describe, parseWait } from '../src/checks.ts';

const CODES: Record<string, [() => Error, string]> = {
  Empty: [() => new mp.Empty(), 'ERR_MP_EMPTY'],
  Full: [() => new mp.Full(), 'ERR_MP_FULL'],
  EOFError: [() => new mp.EOFError(), 'ERR_MP_EOF'],
  BrokenPipeError: [() => new mp.BrokenPipeError(), 'ERR_MP_BROKEN_PIPE'],
  BufferTooShort: [() => new mp.BufferTooShort(Buffer.from('abc')), 'ERR_MP_BUFFER_TOO_SHORT'],
  BrokenBarrierError: [() => new mp.BrokenBarrierError(), 'ERR_MP_BROKEN_BARRIER'],
  AcquireTimeoutError: [() => new mp.AcquireTimeoutError('Lock'), 'ERR_MP_ACQUIRE_TIMEOUT'],
  UnserializableError: [() => new mp.UnserializableError('obj.f', 'it is a function'), 'ERR_MP_UNSERIALIZABLE'],
  ProcessNotStartedError: [() => new mp.ProcessNotStartedError(), 'ERR_MP_PROCESS_NOT_STARTED'],
  InvalidStateError: [() => new mp.InvalidStateError('the connection is closed'), 'ERR_MP_INVALID_STATE'],
  TimeoutError: [() => new mp.TimeoutError(), 'ERR_MP_TIMEOUT'],
  WorkerDiedError: [() => new mp.WorkerDiedError('worker exited with 3', 3), 'ERR_MP_WORKER_DIED'],
  BrokenProcessPool: [() => new mp.BrokenProcessPool(), 'ERR_MP_BROKEN_PROCESS_POOL'],
  CancelledError: [() => new mp.CancelledError(), 'ERR_MP_CANCELLED'],
  QueueFullError: [() => new mp.QueueFullError('full'), 'ERR_MP_QUEUE_FULL'],
  RemoteTraceback: [() => new mp.RemoteTraceback('stack'), 'ERR_MP_REMOTE_TRACEBACK'],
  AuthenticationError: [() => new mp.AuthenticationError('wrong key'), 'ERR_MP_AUTHENTICATION'],
  RemoteError: [() => new mp.RemoteError('TypeError', 'bad', 'stack'), 'ERR_MP_REMOTE'],
  ManagerGoneError: [() => new mp.ManagerGoneError('gone'), 'ERR_MP_MANAGER_GONE'],
  ReferentGoneError: [() => new mp.ReferentGoneError('gone'), 'ERR_MP_REFERENT_GONE'],
  ClusterConnectionError: [() => new cluster.ClusterConnectionError('down'), 'ERR_MP_CLUSTER_CONNECTION'],
  ClusterJobFailedError: [() => new cluster.ClusterJobFailedError('failed', '1'), 'ERR_MP_CLUSTER_JOB_FAILED'],
  ClusterFunctionNotAllowedError: [() => new cluster.ClusterFunctionNotAllowedError('no', '1'), 'ERR_MP_CLUSTER_FUNCTION_NOT_ALLOWED'],
  ClusterChunkKilledWorkerError: [() => new cluster.ClusterChunkKilledWorkerError('killed', '1'), 'ERR_MP_CLUSTER_CHUNK_KILLED_WORKER'],
};

test('every error class the public entries export is a MultiprocError listed here with its code', () => {
  for (const [name, value] of [...Object.entries(mp), ...Object.entries(cluster)]) {
    if (typeof value !== 'function' || !(value.prototype instanceof Error)) continue;
    assert.ok(value.prototype instanceof mp.MultiprocError || value === mp.MultiprocError, `${name} is a MultiprocError`);
    if (value !== mp.MultiprocError) assert.ok(name in CODES, `${name} has its code checked in CODES`);
  }
});

test('each error keeps its Python name, subclasses MultiprocError and carries its code', () => {
  for (const [name, [make, code]] of Object.entries(CODES)) {
    const error = make();
    assert.ok(error instanceof mp.MultiprocError, `${name} is a MultiprocError`);
    assert.ok(error instanceof Error);
    assert.equal(error.name, name);
    assert.equal((error as mp.MultiprocError).code, code);
    assert.match(String(error.stack), new RegExp(`^${name}:[ \\n]`));
  }
});

test('BufferTooShort carries the consumed message', () => {
  assert.deepEqual(new mp.BufferTooShort(Buffer.from('abc')).data, Buffer.from('abc'));
});

test('a real failure carries its code: Queue.getNowait on an empty queue', async () => {
  const q = new mp.Queue();
  try {
    assert.throws(() => q.getNowait(), (e: unknown) => e instanceof mp.Empty && e.code === 'ERR_MP_EMPTY');
    assert.throws(() => q.putSync(Symbol('s')), (e: unknown) => e instanceof mp.UnserializableError && e.code === 'ERR_MP_UNSERIALIZABLE');
  } finally {
    q.close();
  }
});

test('describe names what was given', () => {
  assert.equal(describe(null), 'null');
  assert.equal(describe(undefined), 'undefined');
  assert.equal(describe(5), 'a number 5');
  assert.equal(describe('x'), 'a string "x"');
  assert.equal(describe([1]), 'an array');
  assert.equal(describe(new Map()), 'an object of class Map');
  assert.equal(describe(function named() {}), 'a function (named)');
});

test('parseWait: a number, options, negative timeouts and block: false', () => {
  assert.deepEqual(parseWait(undefined, 'm'), { timeout: Infinity, signal: undefined });
  assert.deepEqual(parseWait(50, 'm'), { timeout: 50, signal: undefined });
  assert.deepEqual(parseWait(-1, 'm'), { timeout: 0, signal: undefined });
  assert.deepEqual(parseWait(null, 'm'), { timeout: Infinity, signal: undefined });
  assert.deepEqual(parseWait({ timeout: -5 }, 'm'), { timeout: 0, signal: undefined });
  assert.deepEqual(parseWait({ block: false, timeout: 100 }, 'm'), { timeout: 0, signal: undefined });
  assert.deepEqual(parseWait({ blocking: false } as never, 'm'), { timeout: 0, signal: undefined });
  assert.throws(() => parseWait(NaN, 'Event.wait'), /Event.wait: timeout must be a number of milliseconds/);
  assert.throws(() => parseWait('50', 'Event.wait'), /Event.wait: the wait argument must be .* got a string "50"/);
  assert.throws(() => parseWait({ block: 'no' }, 'Lock.acquire'), /Lock.acquire: options.block must be a boolean, got a string "no"/);
  assert.throws(() => parseWait({ signal: {} }, 'Queue.get'), /Queue.get: options.signal must be an AbortSignal/);
});

test('misuse fails with InvalidStateError (ERR_MP_INVALID_STATE), the message saying what state forbids it', async () => {
  const isInvalidState = (pattern: RegExp) => (e: unknown) => e instanceof mp.InvalidStateError && e.code === 'ERR_MP_INVALID_STATE' && pattern.test(e.message);
  const [a, b] = mp.Pipe();
  a.close();
  assert.throws(() => a.send(1), isInvalidState(/the connection is closed/));
  b.close();
  const q = new mp.Queue();
  q.close();
  assert.throws(() => q.putNowait(1), isInvalidState(/Queue is closed/));
  assert.throws(() => new mp.Lock().release(), isInvalidState(/un-acquired lock/));
  assert.throws(() => new mp.BoundedSemaphore(1).release(), isInvalidState(/released too many times/));
  const p = new mp.Process({ target: identity, args: [1] });
  await assert.rejects(p.join(), isInvalidState(/can only join a started process/));
  const pool = new mp.Pool({ processes: 1 });
  pool.close();
  await assert.rejects(pool.apply(identity, [1]), isInvalidState(/Pool not running/));
  await pool.join();
});
