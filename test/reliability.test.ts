// No orphans, no hangs, no leaks: the guarantees that Python does not give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { getContext, Process } from '../src/index.ts';
import { stopSpareChildren, TEARDOWN_PROXY_NAME, teardownProxiesReaped, whenTeardownProxiesGone } from '../src/testing.ts';
import * as targets from './fixtures/targets.ts';
import { runProgram } from './support/run-program.ts';
import { isRunning, waitUntilZombieSync } from './support/processes.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));


/**
 * Nothing raises an event when a process that is not our child exits, so
 * this polls. The limit is generous because the machine is shared: the test
 * asserts that they go, not how fast.
 */
async function waitUntilGone(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 500 && pids.some(isRunning); i++) await delay(20);
  return pids.filter(isRunning);
}

test('children of every start method exit when their parent is SIGKILLed, busy or idle', async () => {
  let pids: number[] = [];
  const run = await runProgram(fixture('orphan-maker.ts'), {}, (stdout, pid) => {
    if (pids.length === 0 && stdout.includes('\n')) {
      pids = JSON.parse(stdout.split('\n')[0]) as number[];
      process.kill(pid, 'SIGKILL');
    }
  });
  assert.equal(run.signal, 'SIGKILL');
  assert.equal(pids.length, 6);
  assert.deepEqual(await waitUntilGone(pids), []);
});

test('a daemon child is terminated when its parent exits normally', async () => {
  const run = await runProgram(fixture('daemon-exit.ts'));
  assert.equal(run.code, 0, run.stderr);
  const { pid } = JSON.parse(run.stdout) as { pid: number };
  assert.deepEqual(await waitUntilGone([pid]), []);
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Our direct children as "pid state" (state Z is a zombie). */
function childStates(): string[] {
  const states: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === process.pid) states.push(`${entry} ${fields[0]}`);
    } catch {
      // The process exited while we looked.
    }
  }
  return states;
}

test('300 processes started and joined in a row leak no fds, zombies or memory', async () => {
  const warmUp = new Process({ target: targets.exitWith, args: [0] });
  warmUp.start();
  await warmUp.join();
  await stopSpareChildren();
  // Long-lived helpers (such as the shared-memory resource tracker) may be children too.
  const before = childStates();
  const fdsBefore = openFds();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < 300; i++) {
    const p = new Process({ target: targets.exitWith, args: [i % 3] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, i % 3);
    p.close();
  }
  // A spare refilled after the last start (a timer's work) is stopped by the next look.
  const deadline = Date.now() + 20_000;
  await stopSpareChildren();
  while (JSON.stringify(childStates()) !== JSON.stringify(before) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await stopSpareChildren();
  }
  assert.deepEqual(childStates(), before, 'no zombie or lingering child (waited up to 20 s)');
  assert.ok(openFds() <= fdsBefore, `fds: ${fdsBefore} before, ${openFds()} after`);
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(heapGrowth < 16 * 1024 * 1024, `heap grew by ${heapGrowth} bytes over 300 processes`);
});

/** Seconds since boot, the clock of /proc/PID/stat's start times. */
function uptimeSeconds(): number {
  return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

/** Every live or zombie teardown proxy on the machine started since `sinceUptime`, as "pid ppid". */
function teardownProxies(sinceUptime = 0): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trimEnd() !== TEARDOWN_PROXY_NAME) continue;
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // Field 22, the start time, in clock ticks (100 per second on Linux).
      if (Number(fields[19]) / 100 < sinceUptime) continue;
      found.push(`${entry} ${fields[1]}`);
    } catch {
      // It exited while we looked.
    }
  }
  return found;
}

test('each finished child leaves its memory teardown to a proxy, and every proxy is reaped', async () => {
  const before = teardownProxiesReaped();
  const finishes: { start: () => Process; code: number }[] = [
    { start: () => new Process({ target: targets.exitWith, args: [0] }), code: 0 },
    { start: () => new Process({ target: targets.exitWith, args: [7] }), code: 7 },
    { start: () => new Process({ target: targets.throwError, args: ['boom'] }), code: 1 },
  ];
  for (let i = 0; i < 12; i++) {
    const { start, code } = finishes[i % 3]!;
    const p = start();
    p.start();
    await p.join();
    assert.equal(p.exitCode, code, 'the exit code is the child\'s, not the proxy\'s');
  }
  await whenTeardownProxiesGone();
  assert.equal(teardownProxiesReaped() - before, 12, 'one proxy per child that exited by itself, each reaped here');
  assert.deepEqual(teardownProxies().filter((p) => p.endsWith(` ${process.pid}`)), []);
});

test("a booted child that exits under the teardown proxies' name is still joined, with its code", async () => {
  // The look for proxies once reaped such a child, whose ChildProcess then never ended.
  const child = new (getContext('spawn').Process)({ target: targets.exitUnderProxyName, args: [7] });
  child.start();
  // Synchronously, so that Node cannot reap it before the look below.
  waitUntilZombieSync(child.pid!);
  const proxiesGone = whenTeardownProxiesGone();
  await child.join(30_000);
  assert.equal(child.exitCode, 7);
  await proxiesGone;
});

test('a parent that exits right after its children leaves no teardown proxy behind', async () => {
  // This machine's init may never reap an orphan, so proxies leaked by other runs can linger: look only at ours.
  const since = uptimeSeconds() - 0.02;
  const run = await runProgram(fixture('exit-after-children.ts'));
  assert.equal(run.code, 0, run.stderr);
  const { pid, codes } = JSON.parse(run.stdout) as { pid: number; codes: number[] };
  assert.deepEqual(codes, [0, 3, 0]);
  // An unreaped proxy would now be a child of init (or still of the dead parent).
  assert.deepEqual(teardownProxies(since).filter((p) => p.endsWith(` ${pid}`) || p.endsWith(' 1')), []);
});
