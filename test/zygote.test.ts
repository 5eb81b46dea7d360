// forkserver as a real zygote: children forked from a fork-ready Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getContext } from '../src/index.ts';
import { stopZygotes, zygotePids } from '../src/testing.ts';
import * as targets from './fixtures/zygote-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { runProgram } from './support/run-program.ts';
import { waitFor } from './support/wait-for.ts';
import { anonymousGigabyteRegions, isGone, isRunning, nodeCodeMappings } from './support/processes.ts';

// The zygotes here give Node's code mappings an anonymous page whatever this
// machine's faults cost (see inherited-code-mappings.ts), so that the test of
// that copy below always has one to check; the other zygote tests run as decided.
process.env.MULTIPROC_COPY_CODE_MAPPINGS = '1';
const forkserver = getContext('forkserver');
/** How long a test waits for a child that should exit at once; a child still running then has hung. */
const JOIN_BOUND_MS = 60_000;
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

test('a zygote child has its own pid, the zygote as its OS parent, and the modules the zygote imported', async () => {
  const out = resultPath();
  const p = new forkserver.Process({ target: targets.reportIdentity, args: [out] });
  p.start();
  assert.equal(typeof p.pid, 'number');
  await p.join();
  assert.equal(p.exitCode, 0);
  const seen = readResult(out);
  assert.equal(seen.pid, p.pid);
  assert.deepEqual(zygotePids(), [seen.ppid]);
  // The module was imported once, by the zygote, and inherited.
  assert.equal(seen.importedBy, `pid ${seen.ppid}`);
});

test("the zygote's written memory is packed together, its code mappings are copied by fork(), and its children do not inherit the preload", async () => {
  const out = resultPath();
  const p = new forkserver.Process({ target: targets.reportPreload, args: [out] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out), { preload: process.env.LD_PRELOAD ?? null });
  const [zygote] = zygotePids();
  assert.ok(zygote !== undefined, 'a zygote runs');
  // Plain Node's V8 heap pages lie in dozens of GiB regions (see self-fork.test.ts).
  const regions = anonymousGigabyteRegions(zygote);
  assert.ok(regions <= 8, `the zygote's memory spans ${regions} GiB regions`);
  // Each of Node's code mappings holds an anonymous page, so fork() copies their page tables too.
  const code = nodeCodeMappings(zygote);
  assert.ok(code.total >= 2 && code.withAnonymousPage === code.total, JSON.stringify(code));
});

test('exit codes and signals of zygote children are reported as for booted ones', async () => {
  const failing = new forkserver.Process({ target: targets.exitWith, args: [7] });
  const sleeping = new forkserver.Process({ target: targets.sleepForever });
  failing.start();
  sleeping.start();
  await failing.join();
  assert.equal(failing.exitCode, 7);
  assert.equal(sleeping.isAlive(), true);
  sleeping.terminate();
  await sleeping.join();
  assert.equal(sleeping.exitCode, -15);
});

test('async fs works in a zygote child (libuv thread pool made anew)', async () => {
  const out = resultPath();
  const p = new forkserver.Process({ target: targets.readAsync, args: [out] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.ok(readResult(out).bytes > 0);
});

test('a zygote child exits once its last timer is cleared, whatever phase of the event loop clears it', async () => {
  const p = new forkserver.Process({ target: targets.clearTimerAfterTheCheck });
  p.start();
  await p.join(JOIN_BOUND_MS);
  if (p.exitCode === null) p.kill();
  assert.equal(p.exitCode, 0, `the child was still running after ${JOIN_BOUND_MS} ms`);
});

test('a burst of 100 processes started at once all run and are joined', async () => {
  const outs = Array.from({ length: 100 }, () => resultPath());
  const procs = outs.map((out) => new forkserver.Process({ target: targets.reportIdentity, args: [out] }));
  for (const p of procs) p.start();
  await Promise.all(procs.map((p) => p.join()));
  assert.deepEqual(
    procs.map((p) => p.exitCode),
    procs.map(() => 0),
  );
  assert.equal(new Set(outs.map((out) => readResult(out).pid)).size, 100);
});

test('300 processes in a row leave no process behind', async () => {
  const pids: number[] = [];
  for (let i = 0; i < 300; i++) {
    const p = new forkserver.Process({ target: targets.exitWith, args: [0] });
    p.start();
    pids.push(p.pid!);
    await p.join();
    assert.equal(p.exitCode, 0);
  }
  await waitFor('the 300 children to be reaped', () => pids.every(isGone));
  assert.equal(zygotePids().length, 1);
});

test('when the zygote dies, its children are reported killed, and the next start() makes a new zygote', async () => {
  const sleeping = new forkserver.Process({ target: targets.sleepForever });
  sleeping.start();
  const [zygote] = zygotePids();
  process.kill(zygote, 'SIGKILL');
  await sleeping.join();
  assert.equal(sleeping.exitCode, -9);
  await waitFor('the orphaned child to be gone', () => isGone(sleeping.pid!));
  const out = resultPath();
  const next = new forkserver.Process({ target: targets.reportIdentity, args: [out] });
  next.start();
  await next.join();
  assert.equal(next.exitCode, 0);
  const [replacement] = zygotePids();
  assert.notEqual(replacement, zygote);
  assert.equal(readResult(out).ppid, replacement);
});

test('a SIGKILLed program leaves neither its zygote nor the zygote children behind', async () => {
  let seen: { children: number[]; zygotes: number[] } | undefined;
  const run = await runProgram(fixture('zygote-targets.ts'), {}, (stdout, pid) => {
    if (!seen && stdout.includes('\n')) {
      seen = JSON.parse(stdout.split('\n')[0]);
      process.kill(pid, 'SIGKILL');
    }
  });
  assert.equal(run.signal, 'SIGKILL');
  assert.ok(seen && seen.children.length === 3 && seen.zygotes.length === 1);
  await waitFor('the zygote and its children to exit', () => [...seen!.children, ...seen!.zygotes].every(isGone));
});

test('a failed fork canary (forced by MULTIPROC_FORK_CANARY=fail) boots children instead, with a one-line warning', async () => {
  const run = await runProgram(fixture('zygote-canary-off.ts'), { env: { MULTIPROC_FORK_CANARY: 'fail' } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), 'exit 0, zygotes 0');
  assert.equal(run.stderr.match(/MULTIPROC_FORK_FALLBACK/g)?.length, 1);
  assert.match(run.stderr, /instead of forking \(the fork canary failed: forced by MULTIPROC_FORK_CANARY=fail\)/);
});

test("the canary's checks pass in a fork-ready Node, with a full mark-compact among them", () => {
  const canary = new URL('../src/child/fork-canary.ts', import.meta.url).href;
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--single-threaded', '--trace-gc', '--input-type=module', '-e', `const { runCanaryChecks } = await import(${JSON.stringify(canary)}); await runCanaryChecks(); console.log('canary ok');`],
    { encoding: 'utf8', timeout: JOIN_BOUND_MS },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /Scavenge[\s\S]*Mark-Compact[\s\S]*canary ok/);
});

test('stopZygotes leaves no zygote running', () => {
  const pids = zygotePids();
  stopZygotes();
  assert.deepEqual(zygotePids(), []);
  return waitFor('the zygotes to exit', () => pids.every((pid) => !isRunning(pid)));
});

test('processOrigin() tells a forked child from a booted one and from the main process', async () => {
  const { processOrigin } = await import('../src/index.ts');
  assert.equal(processOrigin(), 'main');
  const forked = resultPath();
  const booted = resultPath();
  const a = new forkserver.Process({ target: targets.reportOrigin, args: [forked] });
  const b = new (getContext('spawn').Process)({ target: targets.reportOrigin, args: [booted] });
  a.start();
  b.start();
  await Promise.all([a.join(), b.join()]);
  assert.equal(readResult(forked).origin, 'forked');
  assert.equal(readResult(booted).origin, 'booted');
});

test('under a loader thread (tsx), a zygote child refuses a module the zygote never loaded, clearly, instead of waiting forever', async () => {
  const run = await runProgram(fileURLToPath(new URL('./fixtures/zygote-unloaded-module.ts', import.meta.url)));
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stdout, /result:/);
  assert.match(run.stdout, /^failed: ERR_MP_NOT_IN_FORKED_CHILD .*zygote-late-module\.ts.*setForkserverPreload/m, 'the task fails, naming the module and the way out');
});
