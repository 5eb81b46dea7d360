// The forkserver zygote's pre-forked spare (src/child/zygote-main.ts): a
// start() hands work to a child forked while the zygote was idle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getContext } from '../src/index.ts';
import { stopZygotes, TEARDOWN_PROXY_NAME, zygotePids, zygoteSpareHandoffs } from '../src/testing.ts';
import { reportDigest, reportEnvironment, reportPid } from './fixtures/zygote-spare-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { isGone, isRunning } from './support/processes.ts';

const forkserver = getContext('forkserver');

async function waitFor<T>(what: string, check: () => T | undefined, boundMs = 30_000): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`waited ${boundMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The zygote's running OS children that are neither teardown proxies nor `known` children. */
function unknownChildrenOf(zygote: number, known: number[]): number[] {
  let listed: string;
  try {
    listed = readFileSync(`/proc/${zygote}/task/${zygote}/children`, 'utf8');
  } catch {
    return [];
  }
  return listed
    .split(' ')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => !known.includes(pid) && isRunning(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd() !== TEARDOWN_PROXY_NAME;
      } catch {
        return false;
      }
    });
}

/** Starts the zygote if need be and waits for its spare; its pid. */
async function readySpare(known: number[] = []): Promise<number> {
  if (zygotePids().length === 0) {
    const first = new forkserver.Process({ target: reportPid, args: [resultPath()] });
    first.start();
    await first.join();
    known.push(first.pid!);
  }
  const [zygote] = zygotePids();
  return waitFor('the zygote to fork its spare', () => {
    const found = unknownChildrenOf(zygote, known);
    return found.length === 1 ? found[0] : undefined;
  });
}

async function run(target: (...args: any[]) => void, args: unknown[]): Promise<{ pid: number; result: any }> {
  const out = resultPath();
  const p = new forkserver.Process({ target, args: [out, ...args] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  const result = readResult(out);
  assert.equal(result.pid, p.pid);
  return { pid: p.pid!, result };
}

test('start() hands the work to the spare that was waiting, and the zygote forks the next one', async () => {
  const spare = await readySpare();
  const handoffs = zygoteSpareHandoffs();
  const { pid } = await run(reportPid, []);
  assert.equal(pid, spare, 'the child is the process that was already waiting');
  assert.equal(zygoteSpareHandoffs(), handoffs + 1);
  const next = await readySpare([pid]);
  assert.notEqual(next, spare);
});

test('a payload bigger than one handoff message reaches the child whole, forked the usual way', async () => {
  const spare = await readySpare();
  const text = 'x'.repeat(200_000) + 'end';
  const { pid, result } = await run(reportDigest, [text]);
  assert.equal(result.length, text.length);
  assert.equal(result.sha, createHash('sha256').update(text).digest('hex'));
  assert.notEqual(pid, spare, 'too big for the spare');
  assert.ok(isRunning(spare), 'the spare is kept for the next start()');
});

test('a payload of megabytes reaches a zygote child whole, while start() blocks for the pid (no deadlock, no fallback)', async () => {
  await readySpare();
  const zygotes = zygotePids();
  // More than a socket buffer: written only by an event loop that start() blocks, it would never arrive.
  const text = 'y'.repeat(4_000_000);
  const { result } = await run(reportDigest, [text]);
  assert.equal(result.sha, createHash('sha256').update(text).digest('hex'));
  assert.deepEqual(zygotePids(), zygotes, 'the same zygote forked it');
});

test('a payload just under the handoff limit goes to the spare whole', async () => {
  const spare = await readySpare();
  const text = 'é'.repeat(30_000);
  const { pid, result } = await run(reportDigest, [text]);
  assert.equal(pid, spare);
  assert.equal(result.sha, createHash('sha256').update(text).digest('hex'));
});

test('a spare forked before the zygote imported the target\'s module is not used, and the child has the module', async () => {
  const spare = await readySpare();
  const { lateTask } = await import('./fixtures/zygote-late-module.ts');
  const p = new forkserver.Process({ target: lateTask });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.notEqual(p.pid, spare);
  await waitFor('the stale spare to be discarded', () => (isGone(spare) ? true : undefined));
});

test('a child has the environment as of its start(), set or deleted after the zygote and its spare were forked', async () => {
  process.env.SPARE_ENV_KEPT = 'kept';
  process.env.SPARE_ENV_DELETED = 'present at the zygote\'s start';
  stopZygotes();
  const names = ['SPARE_ENV_KEPT', 'SPARE_ENV_DELETED', 'SPARE_ENV_ADDED'];
  try {
    await readySpare();
    // Unchanged since the zygote started: the child inherits the zygote's environment.
    const before = await run(reportEnvironment, [names]);
    assert.deepEqual(before.result.values, { SPARE_ENV_KEPT: 'kept', SPARE_ENV_DELETED: 'present at the zygote\'s start', SPARE_ENV_ADDED: null });
    const spare = await readySpare([before.pid]);
    delete process.env.SPARE_ENV_DELETED;
    process.env.SPARE_ENV_ADDED = 'added';
    const after = await run(reportEnvironment, [names]);
    assert.equal(after.pid, spare, 'the spare forked before the change');
    assert.deepEqual(after.result.values, { SPARE_ENV_KEPT: 'kept', SPARE_ENV_DELETED: null, SPARE_ENV_ADDED: 'added' });
    // Changed back: the zygote's environment is right again.
    process.env.SPARE_ENV_DELETED = 'present at the zygote\'s start';
    delete process.env.SPARE_ENV_ADDED;
    const restored = await run(reportEnvironment, [names]);
    assert.deepEqual(restored.result.values, before.result.values);
  } finally {
    for (const name of names) delete process.env[name];
    stopZygotes();
  }
});

test('a spare dies with its zygote', async () => {
  const spare = await readySpare();
  const [zygote] = zygotePids();
  process.kill(zygote, 'SIGKILL');
  await waitFor('the spare to exit after its zygote', () => (isGone(spare) ? true : undefined));
});

test('MULTIPROC_ZYGOTE_SPARE=0 forks every child on request', async () => {
  stopZygotes();
  process.env.MULTIPROC_ZYGOTE_SPARE = '0';
  try {
    const handoffs = zygoteSpareHandoffs();
    // After the first join the zygote would have forked a spare for the second start().
    for (let i = 0; i < 3; i++) await run(reportPid, []);
    assert.equal(zygoteSpareHandoffs(), handoffs);
  } finally {
    delete process.env.MULTIPROC_ZYGOTE_SPARE;
    stopZygotes();
  }
});
