/**
 * Typed access to the native core (native/*.cc): POSIX shared-memory segments
 * as real SharedArrayBuffers, and process-shared futex wait/wake. Everything
 * built on top (locks, values, shared memory objects) is TypeScript.
 *
 * V8's Atomics.wait/notify only wake threads of one process, so every wait
 * on shared memory must go through futexWait/futexWaitAsync here, and every
 * wake through futexWake — in worker threads too.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { MultiprocError } from '../errors.ts';

/** How a futex wait ended: woken (or spuriously returned), the cell no longer held `expected`, or the timeout passed. */
export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out';

/** A named shared-memory segment and the buffer mapping it. */
export interface SharedSegment {
  name: string;
  buffer: SharedArrayBuffer;
}

/** Options of {@link futexWaitAsync}. */
export interface FutexWaitAsyncOptions {
  /** Cancels the wait; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Whether the pending wait keeps the event loop alive, like pending I/O
   * (default true). Pass false for waits nobody must stay alive for.
   */
  ref?: boolean;
}

interface NativeAddon {
  createSegment(name: string, size: number): SharedArrayBuffer;
  openSegment(name: string, readOnly: boolean): SharedArrayBuffer;
  setReadOnlyWriteMessage(message: string): void;
  unlinkSegment(name: string): void;
  copyBytes(target: ArrayBufferView, targetOffset: number, source: ArrayBufferView, sourceOffset: number, length: number): void;
  zeroBytes(target: ArrayBufferView, offset: number, length: number): void;
  firstTouchFaultNanos(): number | null;
  copyToPooled(source: ArrayBufferView, sourceOffset: number, length: number): ArrayBuffer;
  trimBufferPool(): void;
  bufferPoolCachedBytes(): number;
  futexWait(i32: Int32Array, index: number, expected: number, timeoutMs: number): number;
  futexWake(i32: Int32Array, index: number, count: number): number;
  yieldThread(): void;
  futexWaitAny(arrays: Int32Array[], indices: number[], expected: number[], timeoutMs: number): number;
  futexWaitAsync(
    i32: Int32Array,
    index: number,
    expected: number,
    timeoutMs: number,
    ref: boolean,
    callback: (result: number) => void,
  ): number;
  futexCancel(id: number): boolean;
  pendingWaits(): number;
  setParentDeathSignal(signal: number): void;
  spawnWithStdinPipe(file: string, argv: string[]): { pid: number; writeFd: number };
  exitImmediately(code: number): never;
  exitDirectly(): void;
  reapChild(pid: number, block: boolean): boolean;
  teardownProxyName: string;
  gettid(): number;
}

const requireCjs = createRequire(import.meta.url);
const loadBinding = requireCjs('node-gyp-build') as (dir: string) => unknown;
/** The package's root, one level above both src/ and dist/ (where build/ is). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The native core (native/, built by `npm install`), loaded once for this
 * file and src/process/fork-native.ts. Without a build for this Node, it
 * says so and what to run, instead of node-gyp-build's bare "No native build".
 */
export const nativeAddon: unknown = loadNativeAddon();

function loadNativeAddon(): unknown {
  try {
    return loadBinding(packageRoot);
  } catch (error) {
    throw new MultiprocError(
      'ERR_MP_NATIVE_MISSING',
      `multiproc's native core is not built for this Node (${process.version}) in ${packageRoot}: ` +
        'run `npm rebuild multiproc` (it needs g++, make and python3); if npm skipped its install script, ' +
        'approve it first: `npm install-scripts approve multiproc`',
      { cause: error },
    );
  }
}
const addon = nativeAddon as NativeAddon;

const RESULTS: readonly FutexWaitResult[] = ['ok', 'not-equal', 'timed-out'];
const CANCELLED = 3;
const SEGMENT_NAME = /^\/[^/\0]{1,254}$/;

function checkSegmentName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !SEGMENT_NAME.test(name)) {
    throw new TypeError(
      `name must be a POSIX shared-memory name: '/' followed by 1 to 254 characters other than '/' (got ${JSON.stringify(name)})`,
    );
  }
}

function checkCell(i32: unknown, index: unknown): asserts i32 is Int32Array {
  if (!(i32 instanceof Int32Array)) throw new TypeError('i32 must be an Int32Array');
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= i32.length) {
    throw new RangeError(`index must be an integer in [0, ${i32.length}) (got ${String(index)})`);
  }
}

/** The native layer's own rule, below the public wait argument: a futex timeout is already a number of ms >= 0 (Infinity: none). */
function checkFutexTimeout(timeoutMs: unknown): asserts timeoutMs is number {
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) {
    throw new RangeError(`timeoutMs must be a number >= 0 or Infinity (got ${String(timeoutMs)})`);
  }
}

/** Creates a segment (O_CREAT|O_EXCL, mode 0600) of `size` bytes; throws an Error with code 'EEXIST' if it exists. */
export function createSegment(name: string, size: number): SharedArrayBuffer {
  checkSegmentName(name);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) {
    throw new RangeError(`size must be a positive integer number of bytes (got ${String(size)})`);
  }
  return addon.createSegment(name, size);
}

/**
 * Maps an existing segment, its whole size; throws an Error with code
 * 'ENOENT' if missing. With `readOnly`, a write through the buffer kills the
 * process with SIGSEGV, after printing setReadOnlyWriteMessage()'s line.
 */
export function openSegment(name: string, { readOnly = false }: { readOnly?: boolean } = {}): SharedArrayBuffer {
  checkSegmentName(name);
  return addon.openSegment(name, readOnly);
}

/** The line written to stderr when this process writes to a read-only mapping, just before SIGSEGV ends it. */
export function setReadOnlyWriteMessage(message: string): void {
  addon.setReadOnlyWriteMessage(message);
}

/** Removes a segment's name (shm_unlink); mappings stay valid. Throws code 'ENOENT' if missing. */
export function unlinkSegment(name: string): void {
  checkSegmentName(name);
  addon.unlinkSegment(name);
}

/**
 * Blocks the calling thread while `i32[index] === expected`, until woken by
 * {@link futexWake} from any process or `timeoutMs` passes (Infinity: no
 * limit). 'ok' may also be a spurious return: callers re-check their condition.
 */
export function futexWait(i32: Int32Array, index: number, expected: number, timeoutMs: number): FutexWaitResult {
  checkCell(i32, index);
  checkFutexTimeout(timeoutMs);
  return RESULTS[addon.futexWait(i32, index, expected | 0, timeoutMs)]!;
}

/**
 * Like {@link futexWait} but never blocks the event loop: the wait parks one
 * thread of the addon's own waiter pool (not libuv's threadpool) and the
 * promise settles on the JS thread.
 *
 * Keep-alive: by default a pending wait keeps the process alive, as pending
 * I/O does, so `await lock.acquire()` in a child cannot let it exit
 * mid-wait. A wait ends when woken, on timeout, or when `options.signal`
 * aborts; pass `ref: false` for a wait that must not hold the process open.
 */
export function futexWaitAsync(
  i32: Int32Array,
  index: number,
  expected: number,
  timeoutMs: number,
  options: FutexWaitAsyncOptions = {},
): Promise<FutexWaitResult> {
  checkCell(i32, index);
  checkFutexTimeout(timeoutMs);
  const { signal, ref = true } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<FutexWaitResult>((resolve, reject) => {
    const onAbort = (): void => {
      addon.futexCancel(id);
    };
    const id = addon.futexWaitAsync(i32, index, expected | 0, timeoutMs, ref, (result) => {
      signal?.removeEventListener('abort', onAbort);
      if (result === CANCELLED) reject(signal?.reason ?? new Error('futex wait cancelled'));
      else resolve(RESULTS[result]!);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Wakes up to `count` waiters (any process) on `i32[index]`; Infinity wakes all. Returns how many were woken. */
export function futexWake(i32: Int32Array, index: number, count: number): number {
  checkCell(i32, index);
  if (typeof count !== 'number' || !(count >= 0)) {
    throw new RangeError(`count must be a number >= 0 or Infinity (got ${String(count)})`);
  }
  return addon.futexWake(i32, index, count);
}

/**
 * sched_yield: for bounded spins, so that on a machine with more busy
 * processes than cores the one being waited for gets the core. An addon
 * built before it existed: a no-op.
 */
export function yieldThread(): void {
  addon.yieldThread?.();
}

/** The most words {@link futexWaitAny} sleeps on at once (the kernel's FUTEX_WAITV_MAX). */
export const FUTEX_WAIT_ANY_MAX = 128;

/**
 * Blocks until any of the cells `arrays[i][indices[i]]` is woken, one no
 * longer holds `expected[i]` ('not-equal'), or the timeout passes; all three
 * arrays have the same length, 1 to FUTEX_WAIT_ANY_MAX. 'unsupported' on a
 * kernel without futex_waitv (Linux < 5.16): the caller then sleeps on one.
 */
export function futexWaitAny(arrays: Int32Array[], indices: number[], expected: number[], timeoutMs: number): FutexWaitResult | 'unsupported' {
  checkFutexTimeout(timeoutMs);
  // An addon built before futexWaitAny existed: fall back as on an old kernel.
  if (typeof addon.futexWaitAny !== 'function') return 'unsupported';
  const result = addon.futexWaitAny(arrays, indices, expected.map((value) => value | 0), timeoutMs);
  return result === 4 ? 'unsupported' : RESULTS[result]!;
}

/** How many futexWaitAsync calls of this JS thread are still pending (for tests and diagnostics). */
export function pendingAsyncWaits(): number {
  return addon.pendingWaits();
}

/** Copies up to this many bytes are done in JS: crossing into C++ costs more. */
const SMALL_COPY = 64;

/**
 * memmove of `length` bytes (offsets in bytes from each view's start). For
 * shared memory that the caller owns exclusively (a reserved ring record):
 * V8's own copies into or out of a SharedArrayBuffer are relaxed-atomic and
 * about 3x slower.
 */
export function copyBytes(
  target: Uint8Array,
  targetOffset: number,
  source: Uint8Array,
  sourceOffset: number,
  length: number,
): void {
  if (length <= SMALL_COPY) {
    if (targetOffset + length > target.length || sourceOffset + length > source.length || targetOffset < 0 || sourceOffset < 0) {
      throw new RangeError('copyBytes: range out of bounds');
    }
    if (target.buffer === source.buffer && targetOffset + target.byteOffset > sourceOffset + source.byteOffset) {
      for (let i = length - 1; i >= 0; i--) target[targetOffset + i] = source[sourceOffset + i]!;
    } else {
      for (let i = 0; i < length; i++) target[targetOffset + i] = source[sourceOffset + i]!;
    }
    return;
  }
  addon.copyBytes(target, targetOffset, source, sourceOffset, length);
}

/** memset to zero, under the same exclusive-ownership rule as copyBytes. */
export function zeroBytes(target: Uint8Array, offset: number, length: number): void {
  addon.zeroBytes(target, offset, length);
}

/** The mean cost (ns) of a first write's page fault on fresh anonymous memory here; null if none could be mapped. */
export const firstTouchFaultNanos: () => number | null = addon.firstTouchFaultNanos;

/** Copies below this size come from Node's allocator; the pool is for large messages. */
export const POOLED_COPY_MIN = 64 * 1024;
/** The pool goes back to the kernel once no large copy has been made for this long. */
const POOL_IDLE_TRIM_MS = 1000;
let trimTimer: NodeJS.Timeout | undefined;

/**
 * A private ArrayBuffer holding source[sourceOffset, +length), for
 * length >= POOLED_COPY_MIN. Its memory comes from a pool of chunks that
 * stay mapped after V8 frees them (see native/buffer_pool.cc), so a stream
 * of large messages does not page-fault every one in afresh.
 */
export function copyToPooled(source: Uint8Array, sourceOffset: number, length: number): ArrayBuffer {
  const copy = addon.copyToPooled(source, sourceOffset, length);
  if (trimTimer === undefined) trimTimer = setTimeout(trimPool, POOL_IDLE_TRIM_MS).unref();
  else trimTimer.refresh();
  return copy;
}

function trimPool(): void {
  trimTimer = undefined;
  addon.trimBufferPool();
}

/** Bytes of free chunks the pool holds now (for tests). */
export function bufferPoolCachedBytes(): number {
  return addon.bufferPoolCachedBytes();
}

/**
 * Ends the process at once with `code` (_exit), skipping Node's teardown, and
 * leaves the kernel's teardown of its memory to a proxy process (see
 * native/exit_proxy.cc). Only for a child whose 'exit' handlers have all run
 * and whose output is written (stdout and stderr writes to pipes and files
 * are synchronous on Linux).
 */
export function exitImmediately(code: number): never {
  if (!Number.isInteger(code) || code < 0 || code > 255) {
    throw new RangeError(`code must be an integer exit status in [0, 255] (got ${String(code)})`);
  }
  return addon.exitImmediately(code);
}

/**
 * From now on, every exit through Node (process.exit, a fatal exception)
 * ends as exitImmediately does, skipping Node's teardown: for a forked child,
 * whose copy of Node's worker-thread platform can wait forever at shutdown.
 */
export function exitDirectly(): void {
  addon.exitDirectly();
}

/** The name (comm) a child's teardown proxy runs under. */
export const TEARDOWN_PROXY_NAME: string = addon.teardownProxyName;

/** waitpid(pid) (WNOHANG unless `block`); whether `pid` was reaped. Only for teardown proxies, which libuv does not know. */
export function reapChild(pid: number, block: boolean): boolean {
  return addon.reapChild(pid, block);
}

/**
 * prctl(PR_SET_PDEATHSIG, signal): the kernel sends `signal` to this process
 * when the thread that forked it exits; used so children die with their parent.
 */
export function setParentDeathSignal(signal: number): void {
  if (!Number.isInteger(signal) || signal < 0 || signal > 64) {
    throw new RangeError(`signal must be a signal number in [0, 64] (got ${String(signal)})`);
  }
  addon.setParentDeathSignal(signal);
}

/**
 * Starts `file` (an absolute path; argv[0] included in `argv`) in a session
 * of its own, with a new pipe as its stdin and /dev/null as its stdout;
 * returns its pid and the pipe's write end (close-on-exec). The child is not
 * reaped: it must outlive the write end's holder (the resource tracker).
 */
export function spawnWithStdinPipe(file: string, argv: string[]): { pid: number; writeFd: number } {
  if (typeof file !== 'string' || !file.startsWith('/')) throw new TypeError(`spawnWithStdinPipe(file) expects an absolute path (got ${String(file)})`);
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((arg) => typeof arg !== 'string')) {
    throw new TypeError('spawnWithStdinPipe(file, argv) expects argv to be a non-empty array of strings');
  }
  return addon.spawnWithStdinPipe(file, argv);
}

/**
 * The kernel thread id of the calling JS thread (the pid in the main
 * thread). Unique machine-wide while the thread lives; lock owners use it.
 */
export function currentThreadId(): number {
  return addon.gettid();
}
