import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { TRACKER_ENV } from '../src/testing.ts';
import { fixture, runChild, shmNames } from './sync-helpers.ts';
import { SharedMemory, ShareableList, SharedArray, Value } from '../src/index.ts';

test('SharedMemory: create, attach by name, size, close, unlink', () => {
  const shm = new SharedMemory({ create: true, size: 100 });
  assert.ok(!shm.name.startsWith('/'));
  assert.ok(shmNames().has(shm.name));
  shm.buf[99] = 7;
  const other = new SharedMemory({ name: shm.name });
  assert.equal(other.size, 100);
  assert.equal(other.buf[99], 7);
  other.close();
  assert.throws(() => other.buf, /SharedMemory is closed/);
  shm.unlink();
  assert.ok(!shmNames().has(shm.name));
  assert.equal(shm.buf[99], 7); // the mapping outlives the name
});

test('SharedMemory: Python errors for bad sizes, existing and missing names', () => {
  assert.throws(() => new SharedMemory({ create: true, size: 0 }), /'size' must be a positive number different from zero/);
  assert.throws(() => new SharedMemory({ create: true, size: -1 }), /'size' must be a positive integer/);
  assert.throws(() => new SharedMemory({}), /'name' can only be undefined if create is true/);
  const shm = new SharedMemory({ create: true, size: 8 });
  assert.throws(() => new SharedMemory({ name: shm.name, create: true, size: 8 }), (e: NodeJS.ErrnoException) => e.code === 'EEXIST');
  shm.unlink();
  assert.throws(() => new SharedMemory({ name: shm.name }), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
  assert.throws(() => shm.unlink(), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
});

test('ShareableList: items, capacity, attach, count/index', () => {
  const list = new ShareableList([1, 'hello', null, true, 5n, new Uint8Array([1, 2])]);
  assert.deepEqual(list.toArray(), [1, 'hello', null, true, 5n, new Uint8Array([1, 2])]);
  list.set(1, 'howdy!!');
  list.set(0, 2.5);
  const again = ShareableList.attach(list.shm.name);
  assert.equal(again.get(1), 'howdy!!');
  assert.equal(again.get(-1) instanceof Uint8Array, true);
  assert.equal(again.index(true), 3);
  assert.equal(again.count(null), 1);
  assert.throws(() => list.set(1, 'a string longer than eight'), /holds at most 8/);
  assert.throws(() => list.get(6), /index 6 out of range/);
  assert.throws(() => new ShareableList([{} as never]), /values\[0\] must be a number/);
  list.shm.unlink();
});

test('ShareableList: the constructor only creates (from any iterable, a generator too); attaching is ShareableList.attach', () => {
  const fromGenerator = new ShareableList((function* () {
    yield 1;
    yield 'two';
  })());
  assert.deepEqual(fromGenerator.toArray(), [1, 'two'], 'a generator is read once and every item is stored');
  assert.throws(() => new ShareableList(null as never), /values must be an iterable/);
  assert.throws(() => new ShareableList(null as never, { name: fromGenerator.shm.name }), /values must be an iterable/, 'no hidden attach mode');
  assert.throws(() => ShareableList.attach(5 as never), /name must be a string, got a number 5/);
  fromGenerator.shm.unlink();
});

test('objects passed to a child share memory with the parent', async () => {
  const shm = new SharedMemory({ create: true, size: 16 });
  const list = new ShareableList(['parent', 0]);
  const array = new SharedArray('d', 3);
  const value = new Value('q', 0n);
  const child = await runChild('writeShared', { shm, list, array, value });
  assert.equal(child.code, 0, child.stderr);
  assert.equal(shm.buf[0], 42);
  assert.equal(list.get(0), 'child');
  assert.equal(array[2], 2.5);
  assert.equal(value.value, 1n << 40n);
  shm.unlink();
  list.shm.unlink();
});

function runProgram(arg: string): { stdout: Promise<string>; closed: Promise<void>; kill(): void } {
  // A separate program, run with this test process's environment: this
  // process has a tracker of its own by now (the tests above made segments),
  // and the program must not join it, or its segments would outlive it.
  assert.equal(process.env[TRACKER_ENV], undefined, 'the tracker directory is not in the environment other programs inherit');
  const env = { ...process.env };
  const child = spawn(process.execPath, ['--import', 'tsx', fixture('sync-tracker-parent.ts'), arg], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  const stdout = new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
  });
  child.stderr.resume();
  // The tracker inherits the program's stderr: 'close' means it has finished too.
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { stdout, closed, kill: () => child.kill('SIGKILL') };
}

for (const how of ['exits normally', 'is killed with SIGKILL']) {
  test(`cleanup: no segment outlives a program that ${how}, including its child's`, async () => {
    const before = shmNames();
    const program = runProgram(how === 'exits normally' ? 'exit' : 'wait');
    const names = (await program.stdout).split(' ');
    assert.equal(names.length, 5);
    const ringName = names[2];
    if (how !== 'exits normally') {
      assert.ok([...shmNames()].some((n) => n.startsWith(`${ringName}.`)), 'the big message sits in a side segment');
    }
    // Only a program that waits to be killed is sure to be running still.
    if (how !== 'exits normally') {
      for (const name of names) assert.ok(shmNames().has(name), `${name} exists while the program runs`);
    }
    if (how !== 'exits normally') program.kill();
    await program.closed;
    const after = shmNames();
    for (const name of names) assert.ok(!after.has(name), `${name} was unlinked`);
    assert.deepEqual([...after].filter((n) => n.startsWith(`${ringName}.`)), [], 'side segments were unlinked');
    const leaked = [...after].filter((n) => !before.has(n) && n.startsWith('mp-'));
    assert.deepEqual(leaked.filter((n) => names.some((m) => n === m)), []);
  });
}
