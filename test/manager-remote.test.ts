// A remote manager served by another program on loopback: authkey checks,
// clients in other processes, and peers that send garbage.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { AuthenticationError, getContext } from '../src/index.ts';
import { runProgram, type ProgramResult } from './support/run-program.ts';
import { RemoteManager, hammerRemotely, writeRemotely } from './fixtures/manager-remote.ts';
import { encodeRequest } from '../src/managers/request-encoding.ts';
import { Op } from '../src/managers/protocol.ts';

const KEY = 'remote-test-key';
let serverPid = 0;
let address: { host: string; port: number };
let serverExit: Promise<ProgramResult>;

const listening = new Promise<void>((resolve) => {
  serverExit = runProgram(fileURLToPath(new URL('./fixtures/manager-remote.ts', import.meta.url)), { args: ['serve', KEY] }, (out, pid) => {
    serverPid = pid;
    const line = out.split('\n')[0];
    if (out.includes('\n') && !address) {
      address = JSON.parse(line);
      resolve();
    }
  });
});

after(() => {
  if (serverPid) process.kill(serverPid, 'SIGTERM');
});

/** A raw socket to the server, and the frames it receives. */
async function rawPeer(): Promise<{ socket: Socket; frames: Buffer[]; closed: Promise<void> }> {
  await listening;
  const socket = connect(address.port, address.host);
  const frames: Buffer[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      frames.push(pending.subarray(4, 4 + pending.readUInt32BE(0)));
      pending = pending.subarray(4 + pending.readUInt32BE(0));
    }
  });
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  return { socket, frames, closed };
}

function framed(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

test('the server listens on loopback by default', async () => {
  await listening;
  assert.equal(address.host, '127.0.0.1');
  assert.ok(address.port > 0);
});

test('a client with the right authkey uses the registered typeid; a child process does too', async () => {
  await listening;
  const manager = new RemoteManager({ address, authkey: Buffer.from(KEY) });
  await manager.connect();
  const remote = await manager.create('getStore');
  await remote.set('parent', 1);
  const child = new (getContext('spawn').Process)({ target: writeRemotely, args: [address, Buffer.from(KEY), 'child'] });
  child.start();
  await child.join();
  assert.equal(child.exitCode, 0);
  assert.equal(await remote.get('parent'), 1);
  assert.equal(typeof (await remote.get('child')), 'number');
  assert.equal(remote.getSync('parent'), 1, 'the sync form authenticates its own connection');
});

test('a wrong authkey is refused with AuthenticationError', async () => {
  await listening;
  const manager = new RemoteManager({ address, authkey: Buffer.from('not the key') });
  const error = await manager.connect().catch((e: unknown) => e);
  assert.ok(error instanceof AuthenticationError, String(error));
  assert.equal(error.code, 'ERR_MP_AUTHENTICATION');
});

test('an unauthenticated peer that sends a request is refused before anything is processed', async () => {
  const peer = await rawPeer();
  // Skip the challenge and send a create request at once.
  const { serialize } = await import('node:v8');
  peer.socket.write(framed(serialize([2, 1, 'getStore', [], false])));
  await peer.closed;
  assert.match(peer.frames[0]!.toString('latin1'), /^#CHALLENGE#/);
  assert.equal(peer.frames.at(-1)!.toString(), '#FAILURE#');
});

test('garbage and oversized frames close that connection only; other clients keep working', async () => {
  await listening;
  const manager = new RemoteManager({ address, authkey: Buffer.from(KEY) });
  await manager.connect();
  const remote = await manager.create('getStore');
  await remote.set('before', true);

  const oversized = await rawPeer();
  oversized.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  await oversized.closed;

  // An authenticated peer whose next frame is not V8 data.
  const garbage = await rawPeer();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => garbage.frames.length > 0 && (clearInterval(poll), resolve()), 5);
  });
  const challenge = garbage.frames[0]!.subarray('#CHALLENGE#'.length);
  const digest = createHmac('sha256', Buffer.from(KEY)).update(challenge).digest();
  garbage.socket.write(framed(Buffer.concat([Buffer.from('{sha256}'), digest])));
  // We challenge the server back and welcome its answer: now authenticated, we send garbage.
  garbage.socket.write(framed(Buffer.from('#CHALLENGE#{sha256}0123456789012345678901234567890123456789')));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => garbage.frames.length >= 3 && (clearInterval(poll), resolve()), 5);
  });
  assert.equal(garbage.frames[1]!.toString(), '#WELCOME#');
  garbage.socket.write(framed(Buffer.from('#WELCOME#'))); // whatever its answer was
  garbage.socket.write(framed(Buffer.from('definitely not V8 serialisation')));
  await garbage.closed;

  // A peer that fails the handshake with nonsense.
  const nonsense = await rawPeer();
  nonsense.socket.write(framed(Buffer.from('hello?')));
  await nonsense.closed;

  assert.equal(await remote.get('before'), true, 'the good client still works');
  await remote.set('after', true);
  assert.equal(await remote.size(), 4);
});

test('Promise calls from several processes at once, one at a time and in bursts, each get their own answers', async () => {
  await listening;
  const spawn = getContext('spawn');
  const children = ['a', 'b'].map((prefix) => new spawn.Process({ target: hammerRemotely, args: [address, Buffer.from(KEY), prefix, 2000] }));
  for (const child of children) child.start();
  await hammerRemotely(address, Buffer.from(KEY), 'parent', 2000);
  await Promise.all(children.map((child) => child.join()));
  assert.deepEqual(children.map((child) => child.exitCode), [0, 0]);
});

test('a request followed in the same write by garbage is answered, then that connection is closed and the server keeps serving', async () => {
  await listening;
  const peer = await rawPeer();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => peer.frames.length > 0 && (clearInterval(poll), resolve()), 5);
  });
  const challenge = peer.frames[0]!.subarray('#CHALLENGE#'.length);
  peer.socket.write(framed(Buffer.concat([Buffer.from('{sha256}'), createHmac('sha256', Buffer.from(KEY)).update(challenge).digest()])));
  peer.socket.write(framed(Buffer.from('#CHALLENGE#{sha256}0123456789012345678901234567890123456789')));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => peer.frames.length >= 3 && (clearInterval(poll), resolve()), 5);
  });
  peer.socket.write(framed(Buffer.from('#WELCOME#')));
  // The server answers the count, then reads on for the next request (socket-spin.ts) after
  // closing the connection over the garbage: it must not read a descriptor it has closed.
  peer.socket.write(Buffer.concat([encodeRequest(Op.count, 1, []).framed, framed(Buffer.from('not a request'))]));
  await peer.closed;
  assert.equal(peer.frames.length, 4, 'the count was answered before the connection closed');
  const manager = new RemoteManager({ address, authkey: Buffer.from(KEY) });
  await manager.connect();
  const remote = await manager.create('getStore');
  assert.equal(await remote.get('before'), true);
});

test('the server logged why it dropped each bad peer, and kept running', async () => {
  await listening;
  process.kill(serverPid, 'SIGTERM');
  const run = await serverExit;
  serverPid = 0;
  assert.match(run.stderr, /refused a connection: the peer answered the authkey challenge wrongly/);
  assert.match(run.stderr, /exceeds the limit of 256/);
  assert.match(run.stderr, /dropped a connection: an undecodable frame/);
  assert.doesNotMatch(run.stderr, /EBADF|Error:/, 'no failure of the server itself');
});
