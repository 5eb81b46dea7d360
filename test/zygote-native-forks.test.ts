// The zygote forks natively, without running JavaScript, a start() whose
// target it has found before (native/zygote_requests.cc). Spares are off, so
// that every start() after the first of its kind takes that path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getContext } from '../src/index.ts';
import { stopZygotes, zygoteNativeForks, zygotePids } from '../src/testing.ts';
import { reportBigInt, reportDigest, reportEnvironment, reportPid } from './fixtures/zygote-spare-targets.ts';
import { exitWith, sleepForever } from './fixtures/zygote-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { isGone } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

process.env.MULTIPROC_ZYGOTE_SPARE = '0';
const forkserver = getContext('forkserver');
const JOIN_BOUND_MS = 30_000;

async function run(target: (...args: any[]) => void, args: unknown[]): Promise<{ pid: number; result: any }> {
  const out = resultPath();
  const p = new forkserver.Process({ target, args: [out, ...args] });
  p.start();
  await p.join(JOIN_BOUND_MS);
  assert.equal(p.exitCode, 0, `child ${p.pid} exited with ${p.exitCode}`);
  const result = readResult(out);
  assert.equal(result.pid, p.pid);
  return { pid: p.pid!, result };
}

/** How many of `count` runs of `fn` the zygote forked natively. */
async function nativelyForked(count: number, fn: () => Promise<unknown>): Promise<number> {
  const before = zygoteNativeForks();
  for (let i = 0; i < count; i++) await fn();
  return zygoteNativeForks() - before;
}

test('the first start() of a target goes through JavaScript; the next ones are forked natively, each with its own arguments', async () => {
  assert.equal(await nativelyForked(1, () => run(reportPid, [])), 0, 'the zygote had not found reportPid yet');
  const pids = new Set<number>();
  assert.equal(await nativelyForked(5, async () => pids.add((await run(reportPid, [])).pid)), 5);
  assert.equal(pids.size, 5, 'five different children');
  // A different target is new to the zygote again.
  assert.equal(await nativelyForked(1, () => run(reportEnvironment, [[]])), 0);
  assert.equal(await nativelyForked(1, () => run(reportEnvironment, [[]])), 1);
});

test('started together, natively forked children all run and are all reported', async () => {
  await run(reportPid, []);
  const before = zygoteNativeForks();
  const outs = Array.from({ length: 40 }, () => resultPath());
  const children = outs.map((out) => new forkserver.Process({ target: reportPid, args: [out] }));
  for (const child of children) child.start();
  for (const child of children) await child.join(JOIN_BOUND_MS);
  assert.equal(zygoteNativeForks() - before, 40);
  children.forEach((child, i) => {
    assert.equal(child.exitCode, 0);
    assert.equal(readResult(outs[i]).pid, child.pid);
  });
});

test('a bound target with a BigInt bound to it is forked natively the second time, with its value', async () => {
  const bound = reportBigInt.bind(null, 12_345_678_901_234_567_890n);
  assert.equal(await nativelyForked(1, () => run(bound, [])), 0);
  let last: any;
  assert.equal(await nativelyForked(2, async () => (last = (await run(bound, [])).result)), 2);
  assert.equal(last.big, '12345678901234567890');
  // Another bound value is another request: the zygote checks it through JavaScript first.
  assert.equal(await nativelyForked(1, () => run(reportBigInt.bind(null, 7n), [])), 0);
});

test('a payload of megabytes reaches a natively forked child whole', async () => {
  const text = 'natively forked '.repeat(300_000);
  await run(reportDigest, ['warm-up']);
  const before = zygoteNativeForks();
  const { result } = await run(reportDigest, [text]);
  assert.equal(zygoteNativeForks() - before, 1);
  assert.equal(result.length, text.length);
  const { createHash } = await import('node:crypto');
  assert.equal(result.sha, createHash('sha256').update(text).digest('hex'));
});

test('the environment as of start() reaches a natively forked child', async () => {
  await run(reportEnvironment, [[]]);
  process.env.MULTIPROC_NATIVE_SET = 'set after the zygote started';
  const removed = Object.keys(process.env).find((name) => name === 'HOME' || name === 'PATH')!;
  const kept = process.env[removed];
  delete process.env[removed];
  try {
    const before = zygoteNativeForks();
    const { result } = await run(reportEnvironment, [['MULTIPROC_NATIVE_SET', removed]]);
    assert.equal(zygoteNativeForks() - before, 1);
    assert.deepEqual(result.values, { MULTIPROC_NATIVE_SET: 'set after the zygote started', [removed]: null });
  } finally {
    process.env[removed] = kept;
    delete process.env.MULTIPROC_NATIVE_SET;
  }
});

test('exit codes of natively forked children reach the program', async () => {
  for (const code of [3, 0, 7]) {
    const p = new forkserver.Process({ target: exitWith, args: [code] });
    p.start();
    await p.join(JOIN_BOUND_MS);
    assert.equal(p.exitCode, code);
  }
  const before = zygoteNativeForks();
  const p = new forkserver.Process({ target: exitWith, args: [5] });
  p.start();
  await p.join(JOIN_BOUND_MS);
  assert.equal(zygoteNativeForks() - before, 1);
  assert.equal(p.exitCode, 5);
});

test('natively forked children do not outlive their zygote, and are reported killed', async () => {
  const children = Array.from({ length: 4 }, () => new forkserver.Process({ target: sleepForever }));
  const before = zygoteNativeForks();
  for (const child of children) child.start();
  assert.ok(zygoteNativeForks() - before >= 3, 'all but perhaps the first were forked natively');
  const [zygote] = zygotePids();
  process.kill(zygote, 'SIGKILL');
  for (const child of children) {
    await child.join(JOIN_BOUND_MS);
    assert.equal(child.exitCode, -9, `child ${child.pid} was reported killed`);
    await waitFor(`child ${child.pid} to die with its zygote`, () => isGone(child.pid!));
  }
  stopZygotes();
});
