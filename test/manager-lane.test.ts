// Manager lanes (src/managers/lane-*.ts): the shared-memory mailbox beside
// a local manager connection. Calls through it must be exactly as correct
// as through the socket, fall back to the socket for big messages without
// reordering calls, fail at once when the manager dies, and leave no
// segment behind, even when the program is SIGKILLed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { getContext, Manager, ManagerGoneError, Process } from '../src/index.ts';
import { isRunning } from './support/processes.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { runProgram } from './support/run-program.ts';
import { bigValues, hammerLane, laneMappings, waitAtBarrier } from './fixtures/manager-lane-targets.ts';

const laneNames = () => readdirSync('/dev/shm').filter((name) => name.startsWith('multiproc-lane-'));

test('many calls from several children at once over their lanes, bursts included: every result right', async () => {
  await using manager = await Manager();
  const d = await manager.dict<string, number>();
  const rounds = 300;
  const kinds = ['fork', 'spawn', 'forkserver'] as const;
  const outs = kinds.map(() => resultPath());
  const children = kinds.map(
    (method, i) => new (getContext(method).Process)({ target: hammerLane, args: [d, `child${i}`, rounds, outs[i]] }),
  );
  for (const child of children) child.start();
  // The parent calls through its own lanes meanwhile.
  await hammerLane(d, 'parent', rounds, resultPath());
  for (const child of children) await child.join();
  assert.deepEqual(children.map((c) => c.exitCode), [0, 0, 0]);
  for (const out of outs) assert.deepEqual(readResult(out), { wrong: [], lanes: 2 }, 'an async and a sync lane, no wrong value');
  assert.equal(await d.get('n'), (kinds.length + 1) * (2 * rounds + 100));
  assert.equal(laneMappings(), 2, 'the parent has its two lanes too');
});

test('big requests and replies take the socket, and calls in flight keep their order', async () => {
  await using manager = await Manager();
  const d = await manager.dict<string, string>();
  const q = await manager.Queue<string>();
  const ready = await manager.Event();
  const out = resultPath();
  const child = new Process({ target: bigValues, args: [d, q, ready, out] });
  child.start();
  assert.equal(await ready.wait({ timeout: 30_000 }), true);
  const big = 'x'.repeat(100_000);
  await q.put(big);
  await q.put(big);
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.deepEqual(readResult(out), {
    asyncBig: true,
    syncBig: true,
    orderBigLast: true,
    orderSmallLast: true,
    asyncQueued: true,
    syncQueued: true,
    lanes: 2,
  });
});

test('the manager SIGKILLed while children wait on lane calls: the calls fail at once, nothing hangs', async () => {
  const manager = await Manager();
  const barrier = await manager.Barrier(3);
  const outs = [resultPath(), resultPath()];
  const children = [false, true].map((sync, i) => new Process({ target: waitAtBarrier, args: [barrier, sync, outs[i]] }));
  for (const child of children) child.start();
  // Both children are inside their wait call once the barrier counts them.
  while ((await barrier.nWaiting()) < 2);
  const managerPid = manager.pid!;
  process.kill(managerPid, 'SIGKILL');
  for (const child of children) await child.join(30_000);
  assert.deepEqual(children.map((c) => c.exitCode), [0, 0], 'both children finished');
  outs.forEach((out, i) => {
    // The async child made one lane, the sync child one per connection.
    assert.deepEqual(readResult(out), { outcome: 'error', name: 'ManagerGoneError', code: 'ERR_MP_MANAGER_GONE', lanes: i + 1 });
  });
  await assert.rejects(barrier.nWaiting(), ManagerGoneError);
  await manager.shutdown();
  assert.equal(isRunning(managerPid), false);
});

test('no lane segment keeps a name: none while connected, none after shutdown', async () => {
  const manager = await Manager();
  const d = await manager.dict<string, number>();
  await d.set('k', 1);
  assert.equal(d.getSync('k'), 1);
  assert.equal(laneMappings() >= 2, true, 'the lanes are mapped');
  assert.deepEqual(laneNames(), [], 'and their names are gone once the manager mapped them');
  await manager.shutdown();
  assert.deepEqual(laneNames(), []);
});

test('a lane segment still named when the program is SIGKILLed is unlinked by the resource tracker', async () => {
  let printed: { name: string; managerPid: number; childPid: number } | undefined;
  const run = await runProgram(fileURLToPath(new URL('./fixtures/manager-lane-kill.ts', import.meta.url)), {}, (stdout, pid) => {
    if (printed || !stdout.includes('\n')) return;
    printed = JSON.parse(stdout);
    assert.ok(laneNames().includes(printed!.name.slice(1)), 'the held name exists while the program runs');
    process.kill(pid, 'SIGKILL');
  });
  assert.equal(run.signal, 'SIGKILL', run.stderr);
  // runProgram resolves once stderr closed, which the tracker holds until it has cleaned up.
  assert.deepEqual(laneNames(), [], 'no lane name is left');
  for (const pid of [printed!.managerPid, printed!.childPid]) {
    const deadline = Date.now() + 20_000;
    while (isRunning(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(isRunning(pid), false, `process ${pid} ended with the program`);
  }
});

test('MULTIPROC_MANAGER_LANE=0: the socket alone carries everything', async () => {
  const run = await runProgram(fileURLToPath(new URL('./fixtures/manager-lane-off.ts', import.meta.url)), { env: { MULTIPROC_MANAGER_LANE: '0' } });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), { wrong: [], lanes: 0 });
});
