import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { closeSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { waitFor } from './support/wait-for.ts';
import { isGone, isRunning } from './support/processes.ts';
import {
  bufferPoolCachedBytes,
  copyBytes,
  copyToPooled,
  createSegment,
  currentThreadId,
  futexWait,
  futexWaitAny,
  futexWaitAsync,
  futexWake,
  openSegment,
  pendingAsyncWaits,
  spawnWithStdinPipe,
  unlinkSegment,
} from '../src/platform/native.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const segmentName = (): string => `/mp-${process.pid}-t${randomBytes(6).toString('hex')}`;

function runChild(file: string, args: string[], nodeFlags: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', fixture(file), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts a worker thread running a TypeScript fixture (tsx hooks do not reach workers by themselves). */
function startTsWorker(file: string, workerData: unknown): Worker {
  const source = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(fixture(file))}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(source, { eval: true, workerData });
}

/** Creates a segment, runs `body`, and always unlinks it. */
async function withSegment(size: number, body: (name: string, cells: Int32Array) => Promise<void>): Promise<void> {
  const name = segmentName();
  const cells = new Int32Array(createSegment(name, size));
  try {
    await body(name, cells);
  } finally {
    unlinkSegment(name);
  }
}

/** Waits without blocking until cells[index] !== value. */
async function waitChange(cells: Int32Array, index: number, value: number): Promise<void> {
  while (Atomics.load(cells, index) === value) await futexWaitAsync(cells, index, value, Infinity);
}

test('segments are SharedArrayBuffers backed by /dev/shm, shared between mappings', async () => {
  await withSegment(4096, async (name, cells) => {
    assert.ok(cells.buffer instanceof SharedArrayBuffer);
    assert.equal(cells.buffer.byteLength, 4096);
    assert.ok(existsSync(`/dev/shm${name}`));
    const again = new Int32Array(openSegment(name));
    cells[5] = 123;
    assert.equal(again[5], 123);
  });
});

test('segment errors carry EEXIST / ENOENT codes, and bad arguments are named', async () => {
  await withSegment(64, async (name) => {
    assert.throws(() => createSegment(name, 64), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
  });
  const missing = segmentName();
  assert.throws(() => openSegment(missing), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  assert.throws(() => unlinkSegment(missing), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  assert.throws(() => createSegment('no-slash', 8), /name must be a POSIX shared-memory name/);
  assert.throws(() => createSegment('/a/b', 8), /name must be/);
  assert.throws(() => createSegment(segmentName(), 0), /size must be a positive integer/);
  assert.throws(() => createSegment(segmentName(), 1.5), /size must be a positive integer/);
});

test('spawnWithStdinPipe starts a program in its own session, fed by a close-on-exec pipe, and checks its arguments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mp-spawn-'));
  try {
    const out = join(dir, 'out');
    // The script reads its stdin to EOF, then reports what it read, its session, its stdout and its stderr.
    const script = 'o=$(readlink /proc/$$/fd/1); e=$(readlink /proc/$$/fd/2); cat > "$1.tmp"; { cat "$1.tmp"; echo; cut -d" " -f6 /proc/$$/stat; echo "$o"; echo "$e"; } > "$1.part" && mv "$1.part" "$1"';
    const { pid, writeFd } = spawnWithStdinPipe('/bin/sh', ['/bin/sh', '-c', script, 'sh', out]);
    assert.ok(Number.isInteger(pid) && pid > 0);
    // Close-on-exec: O_CLOEXEC is 02000000 in fdinfo's octal flags.
    const flags = /flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${writeFd}`, 'utf8'))?.[1];
    assert.ok(flags !== undefined && (parseInt(flags, 8) & 0o2000000) !== 0, `write end flags ${flags}`);
    writeSync(writeFd, 'hello');
    closeSync(writeFd);
    await waitFor('the spawned program to report', () => existsSync(out));
    const [read, session, stdout, stderr] = readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(read, 'hello');
    assert.equal(Number(session), pid, 'a session of its own');
    assert.equal(stdout, '/dev/null');
    assert.equal(stderr, readlinkSync('/proc/self/fd/2'), 'our stderr, inherited');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => spawnWithStdinPipe('sh', ['sh']), /absolute path/);
  assert.throws(() => spawnWithStdinPipe('/bin/sh', []), /non-empty array of strings/);
  assert.throws(() => spawnWithStdinPipe('/bin/sh', ['/bin/sh', 1 as unknown as string]), /non-empty array of strings/);
  assert.throws(() => spawnWithStdinPipe('/no/such/program', ['x']), (error: NodeJS.ErrnoException) => error.code === 'ENOENT' && error.message.includes('/no/such/program'));
});

test('a child forked by the native core dies with its parent even if it never gets to its own setup', async () => {
  // The parent's exit, not its pipes' end: a surviving child would hold them open.
  const program = spawn(process.execPath, ['--import', 'tsx', fixture('fork-then-stall.ts')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  program.stdout.on('data', (chunk) => (stdout += chunk));
  const exited = once(program, 'exit');
  await waitFor("the program to print its child's pid", () => stdout.includes('\n'));
  const [, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGKILL');
  const child = Number(stdout.trim());
  assert.ok(child > 0, `the program printed ${JSON.stringify(stdout)}`);
  try {
    await waitFor(`forked child ${child} to die with its SIGKILLed parent`, () => isGone(child), 10_000);
  } finally {
    if (isRunning(child)) process.kill(child, 'SIGKILL');
    program.stdout.destroy();
  }
});

test('Atomics.add from 4 processes adds up exactly', async () => {
  await withSegment(64, async (name, cells) => {
    const results = await Promise.all([1, 2, 3, 4].map(() => runChild('sync-native-adder.ts', [name, '100000'])));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal(Atomics.load(cells, 0), 400_000);
  });
});

test('futexWait in a child is woken by futexWake from the parent', async () => {
  await withSegment(64, async (name, cells) => {
    const child = runChild('sync-native-waiter.ts', ['wait', name]);
    await waitChange(cells, 1, 0);
    Atomics.store(cells, 0, 1);
    futexWake(cells, 0, 1);
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    // 'not-equal' is legitimate if the store landed before the child blocked.
    assert.match(r.stdout, /^(ok|not-equal)$/);
  });
});

test('futexWaitAsync in the parent is woken by a child, and the loop keeps running meanwhile', async () => {
  await withSegment(64, async (name, cells) => {
    const child = runChild('sync-native-waiter.ts', ['wake', name]);
    const woken = waitChange(cells, 2, 0);
    // The event loop is free while the wait is pending: timers and I/O run.
    await new Promise((resolve) => setImmediate(resolve));
    await readFile(fixture('sync-native-adder.ts'));
    assert.equal(Atomics.load(cells, 2), 0);
    Atomics.store(cells, 0, 1);
    futexWake(cells, 0, 1);
    await woken;
    assert.equal(Atomics.load(cells, 2), 7);
    assert.equal((await child).code, 0);
  });
});

test('many pending async waits do not stall file I/O (no libuv threadpool use)', async () => {
  await withSegment(64, async (_name, cells) => {
    const waits = Array.from({ length: 8 }, () => futexWaitAsync(cells, 0, 0, Infinity));
    assert.equal(pendingAsyncWaits(), 8);
    const files = await Promise.all(Array.from({ length: 8 }, () => readFile(fixture('sync-native-adder.ts'), 'utf8')));
    assert.ok(files.every((text) => text.includes('openSegment')));
    Atomics.store(cells, 0, 1);
    assert.ok(futexWake(cells, 0, Infinity) <= 8);
    // A pool thread that had not parked yet when the value changed reports 'not-equal'.
    for (const result of await Promise.all(waits)) assert.match(result, /^(ok|not-equal)$/);
    assert.equal(pendingAsyncWaits(), 0);
  });
});

test('timeouts and not-equal, sync and async', async () => {
  await withSegment(64, async (_name, cells) => {
    assert.equal(futexWait(cells, 0, 0, 10), 'timed-out');
    assert.equal(futexWait(cells, 0, 0, 0), 'timed-out');
    assert.equal(futexWait(cells, 0, 1, Infinity), 'not-equal');
    assert.equal(await futexWaitAsync(cells, 0, 0, 10), 'timed-out');
    assert.equal(await futexWaitAsync(cells, 0, 5, Infinity), 'not-equal');
    assert.equal(futexWake(cells, 0, 1), 0);
  });
});

test('futexWaitAny: times out, sees any changed word, and checks its arguments', async () => {
  await withSegment(64, async (_name, cells) => {
    const other = new Int32Array(new SharedArrayBuffer(8));
    assert.equal(futexWaitAny([cells, other], [0, 1], [0, 0], 10), 'timed-out');
    assert.equal(futexWaitAny([cells, other], [0, 1], [0, 0], 0), 'timed-out');
    assert.equal(futexWaitAny([cells, other], [0, 1], [0, 7], Infinity), 'not-equal', 'the second word differs');
    assert.throws(() => futexWaitAny([], [], [], 1), /1 to 128 words/);
    assert.throws(() => futexWaitAny([cells], [0, 1], [0], 1), /as many indices/);
    assert.throws(() => futexWaitAny([cells], [16], [0], 1), /outside its Int32Array/);
    assert.throws(() => futexWaitAny([new Uint8Array(4) as never], [0], [0], 1), /Int32Array/);
    assert.throws(() => futexWaitAny([cells], [0], [0], -1), /timeoutMs/);
  });
});

test('an aborted async wait rejects with the reason and leaves other waiters parked', async () => {
  await withSegment(64, async (_name, cells) => {
    const controller = new AbortController();
    const other = futexWaitAsync(cells, 0, 0, Infinity);
    const aborted = futexWaitAsync(cells, 0, 0, Infinity, { signal: controller.signal });
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    assert.equal(pendingAsyncWaits(), 1);
    Atomics.store(cells, 0, 1);
    assert.ok(futexWake(cells, 0, Infinity) <= 1);
    assert.match(await other, /^(ok|not-equal)$/);
    await assert.rejects(futexWaitAsync(cells, 0, 0, Infinity, { signal: controller.signal }), /stop/);
  });
});

test('a pending ref wait keeps a child alive; an unref wait does not', async () => {
  await withSegment(64, async (name) => {
    const kept = await runChild('sync-native-waiter.ts', ['keep', name]);
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout, 'timed-out');
    const unref = await runChild('sync-native-waiter.ts', ['unref', name]);
    assert.equal(unref.code, 0, unref.stderr);
    assert.equal(unref.stdout, 'started');
  });
});

test('the addon works in worker threads, woken from the main thread', async () => {
  await withSegment(64, async (_name, cells) => {
    const worker = startTsWorker('sync-native-worker.ts', { buffer: cells.buffer });
    const failed = new Promise<never>((_resolve, reject) => worker.once('error', reject));
    const message = new Promise<{ sync: string; async: string }>((resolve) => worker.once('message', resolve));
    await Promise.race([waitChange(cells, 1, 0), failed]);
    Atomics.store(cells, 0, 1);
    futexWake(cells, 0, 1);
    await Promise.race([waitChange(cells, 3, 0), failed]);
    Atomics.store(cells, 2, 1);
    futexWake(cells, 2, 1);
    const result = await Promise.race([message, failed]);
    assert.match(result.sync, /^(ok|not-equal)$/);
    assert.match(result.async, /^(ok|not-equal)$/);
    await worker.terminate();
  });
});

test('a worker terminated while its async wait is pending exits cleanly', async () => {
  await withSegment(64, async (_name, cells) => {
    const worker = startTsWorker('sync-native-worker-park.ts', { buffer: cells.buffer });
    await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    assert.equal(await worker.terminate(), 1);
    assert.equal(pendingAsyncWaits(), 0);
  });
});

test('argument validation names the argument', () => {
  const cells = new Int32Array(new SharedArrayBuffer(8));
  assert.throws(() => futexWait(new Uint32Array(2) as never, 0, 0, 0), /i32 must be an Int32Array/);
  assert.throws(() => futexWait(cells, 2, 0, 0), /index must be an integer in \[0, 2\)/);
  assert.throws(() => futexWait(cells, 0, 0, -1), /timeoutMs must be/);
  assert.throws(() => futexWake(cells, 0, -1), /count must be/);
  assert.equal(currentThreadId(), process.pid);
});

test('copyBytes copies like memmove on both sides of its small-copy threshold', () => {
  for (const length of [0, 1, 8, 63, 64, 65, 1000]) {
    const shared = new Uint8Array(new SharedArrayBuffer(2 * length + 16));
    const source = Uint8Array.from({ length }, (_, i) => (i * 7 + 1) & 0xff);
    copyBytes(shared, 3, source, 0, length);
    assert.deepEqual(shared.subarray(3, 3 + length), source);
    // Overlapping, forwards and backwards, within one buffer.
    const forward = Uint8Array.from({ length: length + 5 }, (_, i) => i & 0xff);
    const expectedForward = forward.slice();
    expectedForward.set(forward.slice(0, length), 5);
    copyBytes(forward, 5, forward, 0, length);
    assert.deepEqual(forward, expectedForward, `forward overlap, length ${length}`);
    const backward = Uint8Array.from({ length: length + 5 }, (_, i) => i & 0xff);
    const expectedBackward = backward.slice();
    expectedBackward.set(backward.slice(5, 5 + length), 0);
    copyBytes(backward, 0, backward, 5, length);
    assert.deepEqual(backward, expectedBackward, `backward overlap, length ${length}`);
  }
  for (const length of [8, 1000]) {
    assert.throws(() => copyBytes(new Uint8Array(length), 1, new Uint8Array(length), 0, length), /out of bounds/);
    assert.throws(() => copyBytes(new Uint8Array(length), 0, new Uint8Array(length), 1, length), /out of bounds/);
  }
});

test('copyToPooled returns private ArrayBuffers of exactly the length asked', () => {
  const source = new Uint8Array(new SharedArrayBuffer(300_000));
  for (let i = 0; i < source.length; i++) source[i] = i % 251;
  const a = new Uint8Array(copyToPooled(source, 10, 200_000));
  const b = new Uint8Array(copyToPooled(source, 10, 200_000));
  assert.equal(a.buffer.byteLength, 200_000);
  assert.ok(!(a.buffer instanceof SharedArrayBuffer));
  assert.deepEqual(a, source.subarray(10, 200_010));
  a[0] = 99;
  assert.equal(b[0], 10 % 251, 'each copy has its own memory');
  // Large copies take the streaming path: every length and source alignment must come out exact.
  const big = new Uint8Array(new SharedArrayBuffer((1 << 20) + 64));
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 0xff;
  for (const [offset, length] of [[0, 262_144], [3, 262_145], [17, 300_001], [5, 1 << 20]] as const) {
    assert.deepEqual(new Uint8Array(copyToPooled(big, offset, length)), big.subarray(offset, offset + length), `offset ${offset}, length ${length}`);
  }
  assert.throws(() => copyToPooled(source, 0, 0), /length must be > 0/);
  assert.throws(() => copyToPooled(source, 200_000, 200_000), /out of bounds/);
});

test('pooled chunks are reused after V8 frees them, and go back to the kernel when idle, even those freed later', async () => {
  const { code, stdout, stderr } = await runChild('buffer-pool.ts', [], ['--expose-gc']);
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout) as {
    cachedAfterGc: number;
    cachedAfterReuse: number;
    cachedAfterIdle: number;
    idleWaitedMs: number;
    collected: number;
    cachedAfterLateFree: number;
  };
  assert.ok(report.cachedAfterGc >= 8 * 2 ** 20, `freed chunks are kept (${report.cachedAfterGc} bytes)`);
  assert.ok(report.cachedAfterReuse < report.cachedAfterGc, 'new copies take kept chunks');
  assert.equal(
    report.cachedAfterIdle,
    0,
    `waited ${report.idleWaitedMs} ms (bound 60 s) for the idle trim that follows the last pooled copy by 1 s; ${report.cachedAfterIdle} bytes were still pooled`,
  );
  assert.equal(report.collected, 4, 'the copies made before the trim were collected (waited for 500 GCs)');
  assert.equal(report.cachedAfterLateFree, 0, 'copies freed after the idle trim go back to the kernel');
  // This process's own copies (the test before) were trimmed, or freed after the trim.
  assert.equal(bufferPoolCachedBytes(), 0);
});
