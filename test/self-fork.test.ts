// A program run fork-ready (`multiproc FILE`) forks itself in start():
// real programs, run through the package's command, as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runProgram } from './support/run-program.ts';
import { isGone } from './support/processes.ts';

const PROGRAM = fileURLToPath(new URL('./fixtures/fork-ready-program.ts', import.meta.url));

async function runCase(name: string): Promise<any> {
  const run = await runProgram(PROGRAM, { args: [name], forkReady: true });
  assert.equal(run.code, 0, run.stderr);
  // Nothing on stderr: a child's exit from its idle watch once printed "Uncaught null" there.
  assert.equal(run.stderr, '');
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}

test('the child has the closure, module-level let and class instance as of start(), and changes go neither way', async () => {
  const seen = await runCase('inheritance');
  assert.deepEqual(seen, {
    exitCode: 0,
    // The child's counter.bump() on its copy of the instance (41 -> 42), under the closure's checks.
    seen: 42,
    forked: 1,
    moduleLevel: 'changed by the parent after start()',
    // The parent's instance never saw the child's bumps.
    parentCounter: 42,
  });
});

test("the parent's setInterval and HTTP server do not act in the child", async () => {
  const seen = await runCase('parentBusiness');
  assert.equal(seen.exitCode, 0);
  assert.equal(seen.childTicks, 0, "the parent's interval ticked in the child");
  assert.deepEqual(seen.responders, [seen.parent], 'a request was answered by the child');
});

test("exit codes, a failing target and terminate() are reported as for other children; the program's own exit code is not inherited", async () => {
  const run = await runProgram(PROGRAM, { args: ['exits'], forkReady: true });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout.trim()), { exiting: 7, failing: 1, sleeping: -15, returning: 0, settingItsOwn: 4 });
  assert.match(run.stderr, /^Process Process-2:\nRangeError: boom in a forked child/m);
});

test('forking after an await while an interval runs: no child hangs, the interval stays the parent\'s, children\'s timers work', async () => {
  assert.deepEqual(await runCase('intervalRunning'), { joined: 30, childTicks: 0, childTimersFired: 30 });
});

test("a child forked before the program used its authkey holds the program's", async () => {
  assert.deepEqual(await runCase('authkeyInherited'), { exitCode: 0, same: true, length: 64 });
});

test('parentProcess() in a forked child is the program, alive while it runs', async () => {
  assert.deepEqual(await runCase('parentSeen'), { exitCode: 0, seen: 1 });
});

test("a child forked while older siblings run exits when done: it keeps none of the program's watches on them", async () => {
  assert.deepEqual(await runCase('youngerSibling'), { youngerCode: 0, pidfdsInChild: 0, olderCodes: [0, 0, 0, 0] });
});

test('200 forked children in a row: right exit codes, and no descriptor or child (or teardown proxy) left', async () => {
  assert.deepEqual(await runCase('rows'), { wrongCodes: 0, fdsGained: 0, childrenLeft: [] });
});

test('a child killed under the teardown proxies\' name is still joined, with its code', async () => {
  assert.deepEqual(await runCase('killedUnderProxyName'), { exitCode: -9 });
});

test('a SIGKILLed fork-ready program leaves none of its forked children behind', async () => {
  let pids: number[] = [];
  await runProgram(PROGRAM, { args: ['orphans'], forkReady: true }, (stdout, pid) => {
    const line = stdout.split('\n').find((l) => l.startsWith('{"pids"'));
    if (line && pids.length === 0) {
      pids = (JSON.parse(line) as { pids: number[] }).pids;
      process.kill(pid, 'SIGKILL');
    }
  });
  assert.equal(pids.length, 3);
  const deadline = Date.now() + 30_000;
  while (!pids.every(isGone)) {
    if (Date.now() > deadline) assert.fail(`waited 30 s for the forked children ${pids} to die with their parent`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

test('multiproc compiles the program eagerly and puts its code on large pages unless given --lazy; a child it boots gets neither', async () => {
  const eager = await runProgram(PROGRAM, { args: ['flags'], forkReady: true });
  assert.equal(eager.code, 0, eager.stderr);
  const seenEager = JSON.parse(eager.stdout.trim());
  for (const flag of ['--no-lazy', '--use-largepages=silent']) {
    assert.ok(seenEager.program.includes(flag), `${flag} in ${seenEager.program}`);
    assert.ok(!seenEager.booted.includes(flag), `${flag} not in ${seenEager.booted}`);
  }
  assert.equal(seenEager.exitCode, 0);
  const lazy = await runProgram(PROGRAM, { args: ['flags'], forkReady: true, commandOptions: ['--lazy'] });
  assert.equal(lazy.code, 0, lazy.stderr);
  const seenLazy = JSON.parse(lazy.stdout.trim());
  for (const flag of ['--no-lazy', '--use-largepages=silent']) assert.ok(!seenLazy.program.includes(flag), `${flag} not in ${seenLazy.program}`);
  assert.ok(seenLazy.program.includes('--single-threaded'), 'still fork-ready');
});

test("a fork-ready program's written memory is packed together, and the preload doing it reaches no other process", async () => {
  const libc = readFileSync('/proc/self/maps', 'utf8').split('\n').map((line) => line.split(/\s+/)[5] ?? '').find((file) => /\/libc\.so\.6$/.test(file));
  assert.ok(libc, 'libc found in this process\'s maps');
  const plain = await runProgram(PROGRAM, { args: ['packedHeap'] });
  assert.equal(plain.code, 0, plain.stderr);
  const ready = await runProgram(PROGRAM, { args: ['packedHeap'], forkReady: true });
  assert.equal(ready.code, 0, ready.stderr);
  const withUsers = await runProgram(PROGRAM, { args: ['packedHeap'], forkReady: true, env: { LD_PRELOAD: libc } });
  assert.equal(withUsers.code, 0, withUsers.stderr);
  const [seenPlain, seenReady, seenWithUsers] = [plain, ready, withUsers].map((run) => JSON.parse(run.stdout.trim()));
  // V8 asks for each heap page at a random address: plain Node's are spread over dozens of GiB regions.
  assert.ok(seenReady.regions <= 8, `fork-ready: ${seenReady.regions} GiB regions (plain Node: ${seenPlain.regions})`);
  assert.ok(seenPlain.regions > 2 * seenReady.regions, `plain Node: ${seenPlain.regions} GiB regions, fork-ready: ${seenReady.regions}`);
  assert.deepEqual(seenReady, { ...seenReady, preload: null, bootedPreload: null, forkedPreload: null, exitCodes: [0, 0] });
  assert.deepEqual(seenWithUsers, { ...seenWithUsers, preload: libc, bootedPreload: libc, forkedPreload: libc, exitCodes: [0, 0] });
  assert.ok(seenWithUsers.regions <= 8, `fork-ready with the user's LD_PRELOAD: ${seenWithUsers.regions} GiB regions`);
});

test("once a fork-ready program has forked, fork() copies Node's code mappings to its children (each holds an anonymous page), where that pays", async () => {
  // Whether it pays depends on this machine's faults (inherited-code-mappings.ts); the setting decides here.
  const copying = { MULTIPROC_COPY_CODE_MAPPINGS: '1' };
  const plain = await runProgram(PROGRAM, { args: ['packedHeap'], env: copying });
  assert.equal(plain.code, 0, plain.stderr);
  const ready = await runProgram(PROGRAM, { args: ['packedHeap'], forkReady: true, env: copying });
  assert.equal(ready.code, 0, ready.stderr);
  const notCopying = await runProgram(PROGRAM, { args: ['packedHeap'], forkReady: true, env: { MULTIPROC_COPY_CODE_MAPPINGS: '0' } });
  assert.equal(notCopying.code, 0, notCopying.stderr);
  const [seenPlain, seenReady, seenNotCopying] = [plain, ready, notCopying].map((run) => JSON.parse(run.stdout.trim()).codeMappings);
  assert.ok(seenReady.total >= 2, `Node's code and read-only data mappings: ${JSON.stringify(seenReady)}`);
  assert.equal(seenReady.withAnonymousPage, seenReady.total);
  assert.ok(seenNotCopying.withAnonymousPage < seenNotCopying.total, JSON.stringify(seenNotCopying));
  // A program that never forked itself (its fork is emulated, through the zygote) is left alone:
  // only the mapping the loader wrote before making it read-only (RELRO) holds one there.
  assert.ok(seenPlain.withAnonymousPage < seenPlain.total, JSON.stringify(seenPlain));
});

test('multiproc with an unknown option says so, with the usage, and exits with 2', async () => {
  const run = await runProgram(PROGRAM, { args: ['flags'], forkReady: true, commandOptions: ['--eager'] });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /unknown option --eager\nusage: multiproc \[--lazy\] PROGRAM/);
});

test('multiproc with no program, or a missing one, says how to use it and exits with 2', async () => {
  const missing = await runProgram('/nonexistent/app.ts', { forkReady: true });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such program: \/nonexistent\/app\.ts/);
});
