// Managers with real processes under every start method: shared containers,
// nested proxies, custom types, failures, reference counts, and no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runProgram } from './support/run-program.ts';
import {
  getContext,
  Manager,
  ManagerGoneError,
  ReferentGoneError,
  RemoteError,
  MultiprocError,
  Empty,
  type StartMethodName,
} from '../src/index.ts';
import { isRunning } from './support/processes.ts';
import { ensureResourceTracker, stopSpareChildren } from '../src/testing.ts';
import { readResult, resultPath } from './support/result-files.ts';
import {
  appendToNested,
  CounterManager,
  fillUnderLock,
  fillUnderLockSync,
  incrementCounter,
  NarrowManager,
  trySyncThenAsync,
  useInheritedProxy,
  watchSyncConnection,
  waitOnQueue,
} from './fixtures/manager-targets.ts';

const METHODS: StartMethodName[] = ['fork', 'spawn', 'forkserver'];
/** Polls `check` every 20 ms for up to `ms`, failing with `what` if it never holds. */
async function eventually(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

for (const method of METHODS) {
  const ctx = getContext(method);

  test(`${method}: a dict and a list filled by 4 children under a managed lock lose nothing`, async () => {
    await using manager = await ctx.Manager();
    const d = await manager.dict<string, number>();
    const l = await manager.list<string>();
    const lock = await manager.Lock();
    const n = 25;
    const children = [0, 1, 2, 3].map(
      (worker) => new ctx.Process({ target: worker % 2 ? fillUnderLockSync : fillUnderLock, args: [d, l, lock, worker, n] }),
    );
    for (const child of children) child.start();
    for (const child of children) await child.join();
    assert.deepEqual(children.map((c) => c.exitCode), [0, 0, 0, 0]);
    assert.equal(await d.get('count'), 4 * n);
    assert.equal(await d.size(), 4 * n + 1);
    const items = await l.toArray();
    assert.equal(items.length, 4 * n);
    for (let worker = 0; worker < 4; worker++) {
      const mine = items.filter((item) => item.startsWith(`${worker}:`)).map((item) => Number(item.split(':')[1]));
      assert.deepEqual(mine, [...Array(n).keys()], `worker ${worker}'s items arrive complete and in order`);
    }
  });

  test(`${method}: nested proxies: a list stored in a dict is the same list for a child`, async () => {
    await using manager = await ctx.Manager();
    const d = await manager.dict();
    const inner = await manager.list(['parent']);
    await d.set('inner', inner);
    inner.dropReference(); // the dict keeps the list alive
    const child = new ctx.Process({ target: appendToNested, args: [d, 'child'] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    const again = (await d.get('inner')) as any;
    assert.deepEqual(await again.toArray(), ['parent', 'child']);
    assert.deepEqual(again.toArraySync(), ['parent', 'child']);
  });

  test(`${method}: a custom registered type, with methodToTypeid and a child using it`, async () => {
    await using manager = new CounterManager({ context: ctx });
    await manager.start();
    const counter = await (manager as any).Counter(10);
    const child = new ctx.Process({ target: incrementCounter, args: [counter, 5] });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.equal(await counter.get(), 15);
    const split = await counter.split();
    assert.equal(split.typeid, 'Counter');
    assert.equal(await split.increment(100), 115);
    assert.equal(await counter.get(), 15, 'the split-off counter is a separate referent');
    assert.equal(typeof counter._hidden, 'undefined', 'names starting with _ are not exposed');
  });

  test(`${method}: the manager SIGKILLed while children wait on proxy calls: the calls fail, nothing hangs`, async () => {
    const manager = await ctx.Manager();
    const q = await manager.Queue();
    const ready = [await manager.Event(), await manager.Event()];
    const outs = [resultPath(), resultPath()];
    const children = [false, true].map(
      (sync, i) => new ctx.Process({ target: waitOnQueue, args: [q, ready[i], outs[i], sync] }),
    );
    for (const child of children) child.start();
    for (const event of ready) assert.equal(await event.wait({ timeout: 30_000 }), true);
    const pending = q.get(); // the parent waits too
    const managerPid = manager.pid!;
    process.kill(managerPid, 'SIGKILL');
    await assert.rejects(pending, ManagerGoneError);
    for (const child of children) await child.join(30_000);
    assert.deepEqual(children.map((c) => c.exitCode), [0, 0], 'the children finished, none hangs');
    for (const out of outs) {
      const result = readResult(out);
      assert.equal(result.outcome, 'error');
      assert.equal(result.name, 'ManagerGoneError');
      assert.equal(result.code, 'ERR_MP_MANAGER_GONE');
    }
    await assert.rejects(q.qsize(), ManagerGoneError, 'a later call fails at once too');
    await manager.shutdown();
    assert.equal(isRunning(managerPid), false);
  });
}

test('forkserver: synchronous proxy calls work in a zygote-forked child, beside the async ones', async () => {
  await using manager = await Manager();
  const d = await manager.dict<string, number>();
  const out = resultPath();
  const child = new (getContext('forkserver').Process)({ target: trySyncThenAsync, args: [d, out] });
  child.start();
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.deepEqual(readResult(out), { sync: 'ok', async: 'ok', origin: 'forked' });
  assert.equal(await d.get('sync'), 1);
  assert.equal(await d.get('async'), 1);
});

test('forkserver: a sync-only child closes its CLOEXEC manager socket as soon as the manager dies, with no call pending', async () => {
  const manager = await Manager();
  const d = await manager.dict<string, number>();
  const ready = await manager.Event();
  const out = resultPath();
  const child = new (getContext('forkserver').Process)({ target: watchSyncConnection, args: [d, ready, out] });
  child.start();
  assert.equal(await ready.wait({ timeout: 30_000 }), true);
  process.kill(manager.pid!, 'SIGKILL');
  await child.join(30_000);
  assert.equal(child.exitCode, 0, 'the child saw its descriptor closed');
  assert.deepEqual(readResult(out), { opened: 1, cloexec: true, later: 'ERR_MP_MANAGER_GONE', origin: 'forked' });
  await manager.shutdown();
});

test('fork: a proxy in a global is inherited by a forked child, as in Python', async () => {
  await using manager = await Manager();
  const d = await manager.dict<string, string>();
  (globalThis as any).inheritedDict = d;
  try {
    const child = new (getContext('fork').Process)({ target: useInheritedProxy });
    child.start();
    await child.join();
    assert.equal(child.exitCode, 0);
    assert.equal(await d.get('from'), 'forked child');
  } finally {
    delete (globalThis as any).inheritedDict;
  }
});

test('an exception in a manager method reaches the caller with its class, message and remote stack', async () => {
  await using manager = new CounterManager();
  await manager.start();
  const counter = await manager.create('Counter', 7);
  const error = await counter.fail().catch((e: unknown) => e);
  assert.ok(error instanceof RemoteError);
  assert.ok(error instanceof MultiprocError);
  assert.equal(error.code, 'ERR_MP_REMOTE');
  assert.equal(error.remoteName, 'TypeError');
  assert.match(error.message, /TypeError: counter refuses at 7/);
  assert.match(error.remoteStack, /at Counter\.fail .*manager-targets\.ts/);
  assert.throws(() => counter.failSync(), (e: RemoteError) => e.remoteName === 'TypeError');
  // The library's own classes come back as themselves.
  const q = await (await Manager()).Queue();
  await assert.rejects(q.get({ block: false }), Empty);
});

test('a method that is not exposed is refused by the manager, not only hidden by the proxy', async () => {
  await using manager = new NarrowManager();
  await manager.start();
  const counter = await manager.create('Counter', 1);
  assert.equal(typeof counter.increment, 'undefined');
  assert.equal(await counter.get(), 1);
  await assert.rejects(counter.callMethod('increment', []), /method 'increment' of typeid 'Counter' is not exposed/);
  await assert.rejects(manager.create('Nope'), /typeid 'Nope' is not registered/);
});

test('reference counting frees a referent once no proxy is left, and a released proxy fails clearly', async () => {
  await using manager = await Manager();
  const keep = await manager.dict();
  const before = await manager.numberOfObjects();
  const temp = await manager.list([1, 2, 3]);
  assert.equal(await manager.numberOfObjects(), before + 1);
  temp.dropReference();
  // The decref is fire-and-forget, but the count request after it goes on the same connection.
  assert.equal(await manager.numberOfObjects(), before);
  await assert.rejects(temp.length(), ReferentGoneError);
  // A proxy dropped by garbage collection gives its reference back too.
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  await (async () => {
    await manager.list([4]);
  })();
  assert.equal(await manager.numberOfObjects(), before + 1);
  let left = before + 1;
  const deadline = Date.now() + 20_000;
  while (left !== before && Date.now() < deadline) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = await manager.numberOfObjects();
  }
  assert.equal(left, before, 'the collected proxy released its referent');
  assert.equal(await keep.size(), 0);
});

test('after shutdown every proxy call fails at once with ManagerGoneError; shutdown is idempotent', async () => {
  const manager = await Manager();
  const d = await manager.dict();
  await d.set('a', 1);
  await manager.shutdown();
  await manager.shutdown();
  await assert.rejects(d.get('a'), ManagerGoneError);
  assert.throws(() => d.getSync('a'), ManagerGoneError);
  await assert.rejects(manager.dict(), ManagerGoneError);
});

test('arguments are checked in the caller', async () => {
  assert.throws(() => CounterManager.register('bad name', null), /typeid must be an identifier/);
  assert.throws(() => CounterManager.register('X', 42 as never), /factory must be a function/);
  assert.throws(() => new CounterManager({ authkey: 'secret' as never }), /authkey must be a Buffer/);
  assert.throws(() => new CounterManager({ address: { host: '', port: 1 } }), /address must be/);
  await assert.rejects(new CounterManager().create('Counter'), /not started/);
  await assert.rejects(async () => (await Manager()).dict().then((d) => d.set(() => 1 as never, 1)), /cannot be sent/);
});

/** Descriptors of this process, without those of idle spare children, which come and go as starts refill them. */
async function fdCountWithoutSpares(): Promise<number> {
  await stopSpareChildren();
  return fdCount();
}

test('no leaked descriptors in this process after managers come and go', async () => {
  // The program's resource tracker holds one descriptor for the program's life, from the first start on.
  ensureResourceTracker();
  const fdsBefore = await fdCountWithoutSpares();
  const pids: number[] = [];
  for (let i = 0; i < 3; i++) {
    await using manager = await Manager();
    pids.push(manager.pid!);
    const d = await manager.dict();
    await d.set('k', i);
    d.getSync('k'); // opens the sync connection and its worker too
  }
  for (const pid of pids) assert.equal(isRunning(pid), false, `manager ${pid} has exited`);
  // A spare refilled after the last start (a timer's work) is stopped by the next look.
  const deadline = Date.now() + 20_000;
  let now = await fdCountWithoutSpares();
  while (now > fdsBefore) {
    if (Date.now() > deadline) assert.fail(`waited 20000 ms for descriptors back to ${fdsBefore} (now ${now})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = await fdCountWithoutSpares();
  }
});

test('no leaked processes or /dev/shm entries once a program using managers exits, even with one still running', async () => {
  const run = await runProgram(fileURLToPath(new URL('./fixtures/manager-leaks.ts', import.meta.url)));
  assert.equal(run.code, 0, run.stderr);
  const { pids } = JSON.parse(run.stdout) as { pids: number[] };
  assert.equal(pids.length, 3);
  for (const pid of pids) await eventually(() => !isRunning(pid), `manager process ${pid} to exit`);
  const left = readdirSync('/dev/shm').filter((name) => pids.some((pid) => name.includes(`-${pid}-`)));
  assert.deepEqual(left, []);
});
