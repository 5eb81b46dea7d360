// Pipe and Connection: in one process and across real child processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import * as targets from './fixtures/queue-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { Process, Pipe, BufferTooShort, EOFError, UnserializableError } from '../src/index.ts';

test('messages keep boundaries and order, empty ones included, both directions', async () => {
  const [a, b] = Pipe();
  a.send({ x: 1 });
  a.sendBytes(Buffer.alloc(0));
  a.send('');
  a.sendBytes(new Uint16Array([1, 2, 3, 4]), 1, 2);
  assert.deepEqual(await b.recv(), { x: 1 });
  assert.equal((await b.recvBytes()).length, 0);
  assert.equal(b.recvSync(), '');
  assert.deepEqual([...b.recvBytesSync()], [2, 0, 3, 0]);
  b.send([1, 2]);
  assert.equal(await a.poll(), true);
  assert.deepEqual(a.recvSync(), [1, 2]);
  assert.equal(a.pollSync(), false);
  assert.equal(await a.poll(5), false);
  a.close();
  b.close();
});

test('duplex: false gives [reader, writer]; the wrong direction throws a clear error', () => {
  const [reader, writer] = Pipe({ duplex: false });
  assert.equal(reader.readable, true);
  assert.equal(reader.writable, false);
  assert.equal(writer.readable, false);
  assert.equal(writer.writable, true);
  assert.throws(() => reader.send(1), /read-only/);
  assert.throws(() => writer.recvSync(), /write-only/);
  writer.close();
  assert.equal(writer.closed, true);
  assert.throws(() => writer.send(1), /closed/);
  reader.close();
});

test('recv after the peer closed and the pipe is drained throws EOFError', async () => {
  const [reader, writer] = Pipe({ duplex: false });
  writer.send(1);
  writer.close();
  assert.equal(await reader.recv(), 1);
  await assert.rejects(reader.recv(), EOFError);
  assert.throws(() => reader.recvSync(), EOFError);
  assert.equal(reader.pollSync(), true);
});

test('recvBytesInto writes at the offset; a too-small buffer gives BufferTooShort carrying the message', async () => {
  const [a, b] = Pipe();
  a.sendBytes(Buffer.from('hello'));
  const target = Buffer.alloc(8);
  assert.equal(await b.recvBytesInto(target, 2), 5);
  assert.equal(target.subarray(2, 7).toString(), 'hello');
  a.sendBytes(Buffer.from('too long for it'));
  const error = await b.recvBytesInto(Buffer.alloc(4)).catch((e) => e);
  assert.ok(error instanceof BufferTooShort);
  assert.equal(error.data.toString(), 'too long for it');
  a.sendBytes(Buffer.alloc(10));
  assert.throws(() => b.recvBytesSync(4), /bad message length/);
});

test('bad arguments and unsendable values fail in the caller, naming them', () => {
  const [a, b] = Pipe();
  assert.throws(() => Pipe({ duplex: 'yes' as never }), /'duplex' must be a boolean/);
  assert.throws(() => a.send({ ok: 1, bad: () => 1 }), (e: Error) => e instanceof UnserializableError && /obj\.bad/.test(e.message));
  assert.throws(() => a.sendBytes('text' as never), /buf must be/);
  assert.throws(() => a.sendBytes(Buffer.alloc(4), 5), /offset/);
  assert.throws(() => a.sendBytes(Buffer.alloc(4), 1, 4), /past the end/);
  assert.throws(() => a.pollSync(NaN), /Connection.pollSync: timeout must be a number of milliseconds/);
  assert.equal(b.pollSync(), false, 'nothing was sent by the failed calls');
});

test('a child echoes over a pipe; its close gives the parent EOFError', async () => {
  const [parent, child] = Pipe();
  const out = resultPath();
  const p = new Process({ target: targets.echoUntilEof, args: [child, out] });
  p.start();
  child.close(); // the parent's copy; the child holds its own
  for (const message of [1, 'two', { three: [3] }, null, new Map([[1, 2]])]) {
    parent.send(message);
    assert.deepEqual(await parent.recv(), message);
  }
  parent.close();
  await p.join();
  assert.equal(p.exitCode, 0);
  assert.deepEqual(readResult(out), { count: 5, error: 'EOFError' });
});

test('a killed peer counts as closed: recv ends with EOFError instead of hanging', async () => {
  const [parent, child] = Pipe();
  const p = new Process({ target: targets.echoUntilEof, args: [child, resultPath()] });
  p.start();
  // As with OS pipes, EOF needs every holder gone: the parent's own copy of the child's end too.
  child.close();
  parent.send('ping');
  assert.equal(await parent.recv(), 'ping');
  p.kill();
  await p.join();
  await assert.rejects(parent.recv(), EOFError);
  parent.close();
});

test('a 256 MiB message crosses a pipe intact', async () => {
  const [reader, writer] = Pipe({ duplex: false });
  const big = Buffer.alloc(256 * 1024 * 1024, 7);
  big[big.length - 1] = 9;
  writer.sendBytes(big);
  const got = await reader.recvBytes();
  assert.equal(got.length, big.length);
  assert.equal(got[0], 7);
  assert.equal(got[got.length - 1], 9);
});

test('no pipe segment is left in /dev/shm once consumed (rings go at exit)', () => {
  const leftovers = readdirSync('/dev/shm').filter((n) => n.startsWith(`mpq-${process.pid}-`) && n.includes('.'));
  assert.deepEqual(leftovers, [], 'side segments are unlinked by their reader');
});
