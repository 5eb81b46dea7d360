// Issue 12 item 1: a pipe reports EOF only when no live process holds the other end,
// as the OS does for a pipe's file descriptors; the same for queues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EOFError, BrokenPipeError, getContext, JoinableQueue, Pipe, Queue, SimpleQueue, wait, type StartMethodName,
} from '../src/index.ts';
import { holdAndExit, holdUntilKilled, putAndExit, sendAndExit } from './fixtures/pipe-holders-targets.ts';

const METHODS: StartMethodName[] = ['spawn', 'fork', 'forkserver'];

for (const method of METHODS) {
  for (const duplex of [false, true]) {
    test(`${method}, duplex ${duplex}: a child that exits holding the writer is no EOF while the parent holds it`, async () => {
      const [r, w] = Pipe({ duplex });
      const p = new (getContext(method).Process)({ target: holdAndExit, args: [w] });
      p.start();
      await p.join();
      assert.equal(p.exitCode, 0);
      assert.equal(w.closed, false);
      assert.equal(await r.poll(), false, 'an empty pipe whose writer the parent still holds has nothing to read, not EOF');
      assert.equal(r.pollSync(20), false);
      w.send('later');
      assert.equal(await r.recv(), 'later');
      w.close();
      await assert.rejects(r.recv(), EOFError, 'EOF once the last holder closed');
      r.close();
    });
  }

  test(`${method}: the child's message arrives, then EOF only after the parent closes its own writer`, async () => {
    const [r, w] = Pipe({ duplex: false });
    const p = new (getContext(method).Process)({ target: sendAndExit, args: [w, 'from child'] });
    p.start();
    await p.join();
    assert.equal(await r.recv(), 'from child');
    assert.equal(await r.poll(), false);
    w.close();
    assert.equal(await r.poll(), true, 'EOF is ready once no holder is left');
    assert.throws(() => r.recvSync(), EOFError);
    r.close();
  });
}

test('a reader held by the parent stays open for its writer after a child holding it exits', async () => {
  const [r, w] = Pipe({ duplex: false });
  const p = new (getContext('spawn').Process)({ target: holdAndExit, args: [r] });
  p.start();
  await p.join();
  w.send('still read by the parent');
  assert.equal(await r.recv(), 'still read by the parent');
  r.close();
  assert.throws(() => {
    // The ring has room, so only the readers' count says the pipe is broken: fill it until a send must wait.
    for (let i = 0; i < 10_000; i++) w.sendBytes(Buffer.alloc(4096));
  }, BrokenPipeError);
  w.close();
});

test('a SIGKILLed child holding the last writer gives EOF; it never counts as holding again', async () => {
  const [r, w] = Pipe({ duplex: false });
  const p = new (getContext('spawn').Process)({ target: holdUntilKilled, args: [w] });
  p.start();
  assert.equal(await r.recv(), 'holding');
  w.close();
  assert.equal(await r.poll(), false, 'the child still holds the writer');
  p.kill();
  await p.join();
  // The reader notices the dead holder within a wait slice; the bound is generous for a loaded machine.
  assert.equal(await r.poll(30_000), true, 'waited for EOF after the last writer was SIGKILLed');
  await assert.rejects(r.recv(), EOFError);
  r.close();
});

for (const method of METHODS) {
  test(`${method}: a queue stays open for the parent after a child that put an item exits without closing`, async () => {
    const q = new Queue();
    const p = new (getContext(method).Process)({ target: putAndExit, args: [q, 'from child'] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.equal(await q.get(30_000), 'from child');
    assert.equal(q.closed, false);
    assert.equal(q.empty(), true);
    assert.deepEqual(await wait([q], 20), [], 'an empty queue the parent can still put to is not ready: nothing says it ended');
    const later = q.get(30_000);
    await q.put('from parent');
    assert.equal(await later, 'from parent', 'a get after the child left still waits for the parent\'s own put');
    q.close();
  });

  test(`${method}: JoinableQueue and SimpleQueue keep waiting for the parent's put after a child holding them exits`, async () => {
    const jq = new JoinableQueue();
    const sq = new SimpleQueue();
    const p = new (getContext(method).Process)({ target: holdAndExit, args: [jq, sq] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    const fromJoinable = jq.get(30_000);
    const fromSimple = sq.get();
    await jq.put('joinable');
    sq.put('simple');
    assert.equal(await fromJoinable, 'joinable');
    assert.equal(await fromSimple, 'simple');
    jq.taskDone();
    assert.equal(await jq.join(-1), true);
    jq.close();
    sq.close();
  });
}
