// ctx.prepare(): the zygote booted ahead of the first start(), without blocking the event loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { getContext } from '../src/index.ts';
import { stopZygotes, zygotePids } from '../src/testing.ts';
import { loaderHooksOnThread } from '../src/process/fork-support.ts';
import * as targets from './fixtures/zygote-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { runProgram } from './support/run-program.ts';
import { isRunning } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

const forkserver = getContext('forkserver');
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function startAndJoinIdentity(): Promise<{ pid: number; ppid: number; exitCode: number | null }> {
  const out = resultPath();
  const p = new forkserver.Process({ target: targets.reportIdentity, args: [out] });
  p.start();
  await p.join();
  const seen = readResult(out) as { pid: number; ppid: number };
  return { ...seen, exitCode: p.exitCode };
}

test('prepare() boots the forkserver zygote while the event loop runs, and the next start() forks from it', async () => {
  const order: string[] = [];
  const ready = forkserver.prepare().then(() => order.push('ready'));
  // A prepare() that booted the zygote inline would resolve before the loop turned.
  setImmediate(() => order.push('loop turned'));
  await ready;
  assert.deepEqual(order, ['loop turned', 'ready']);
  const zygotes = zygotePids();
  assert.equal(zygotes.length, 1);
  // Prepared again: the same zygote, already ready.
  await forkserver.prepare();
  assert.deepEqual(zygotePids(), zygotes);
  const child = await startAndJoinIdentity();
  assert.equal(child.exitCode, 0);
  assert.equal(child.ppid, zygotes[0]);
  assert.deepEqual(zygotePids(), zygotes);
});

test('a program whose only work is awaiting prepare() stays alive for it, then exits', async () => {
  const run = await runProgram(fixture('zygote-prepare-only.ts'), { args: ['forkserver'] });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'zygotes 1');
});

test('spawn, and fork in a fork-ready program, have nothing to prepare; emulated fork prepares the zygote unless children boot', async () => {
  for (const [method, forkReady, zygotes] of [
    ['spawn', false, 0],
    ['fork', true, 0],
  ] as const) {
    const run = await runProgram(fixture('zygote-prepare-only.ts'), { args: [method], forkReady });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), `zygotes ${zygotes}`, `${method}, fork-ready: ${forkReady}`);
  }
  stopZygotes();
  await getContext('fork').prepare();
  // Under a loader whose hooks run on a thread (tsx on Node 20), emulated fork boots each child (popen-fork.ts).
  assert.equal(zygotePids().length, loaderHooksOnThread() ? 0 : 1);
});

test('prepare() does not wait for a zygote that dies while booting; the next start() makes a new one', async () => {
  stopZygotes();
  const ready = forkserver.prepare();
  const [booting] = zygotePids();
  assert.ok(booting !== undefined, 'prepare() started a zygote');
  process.kill(booting, 'SIGKILL');
  await ready;
  assert.deepEqual(zygotePids(), []);
  const child = await startAndJoinIdentity();
  assert.equal(child.exitCode, 0);
  assert.notEqual(child.ppid, booting);
  assert.deepEqual(zygotePids(), [child.ppid]);
});

test('prepare() checks its options; a signal stops the wait, not the boot', async () => {
  assert.throws(() => forkserver.prepare(42 as never), /prepare\(options\) must be an options object, got a number 42/);
  assert.throws(() => forkserver.prepare({ signal: 'soon' as never }), /prepare\(options\): options\.signal must be an AbortSignal/);
  const reason = new Error('no longer needed');
  await assert.rejects(forkserver.prepare({ signal: AbortSignal.abort(reason) }), (error) => error === reason);

  stopZygotes();
  const controller = new AbortController();
  const waiting = forkserver.prepare({ signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(waiting, (error) => error === reason);
  const [booting] = zygotePids();
  assert.ok(booting !== undefined, 'the zygote boots on');
  const child = await startAndJoinIdentity();
  assert.equal(child.exitCode, 0);
  assert.equal(child.ppid, booting);
});

test('with the fork canary failing, prepare() resolves and start() boots children, with the one-line warning', async () => {
  const run = await runProgram(fixture('zygote-canary-off.ts'), { args: ['--prepare'], env: { MULTIPROC_FORK_CANARY: 'fail' } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'exit 0, zygotes 0');
  assert.equal(run.stderr.match(/MULTIPROC_FORK_FALLBACK/g)?.length, 1);
});

test('an unguarded prepare() at the top of the main module is a no-op where the zygote imports that module', async () => {
  const run = await runProgram(fixture('zygote-prepare-unguarded.ts'));
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'exit 0, zygotes 1, zygotes of the zygote 0');
});

test('stopped zygotes leave no process behind', async () => {
  const pids = zygotePids();
  stopZygotes();
  await waitFor(`zygotes ${pids.join()} to exit`, () => !pids.some(isRunning));
});
