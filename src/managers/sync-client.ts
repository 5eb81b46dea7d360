/**
 * The synchronous side of a manager connection, for `…Sync` proxy methods
 * in synchronous child code. Node has no blocking socket read, so a small
 * worker thread owns the socket and only pumps bytes: each chunk it reads is
 * posted to this thread and signalled through a shared counter, which this
 * thread blocks on with Atomics.wait and then takes with
 * receiveMessageOnPort. Everything else (handshake, framing, encoding) runs
 * here, with the same code as the async client. The worker is plain
 * JavaScript evaluated from a string, so it loads the same under tsx and from
 * compiled JS, and it is unref'd so it never keeps a process alive.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { deserialize } from 'node:v8';
import { ManagerGoneError, MultiprocError } from '../errors.ts';
import { processOrigin } from '../process/fork-support.ts';
import { FrameReader, frame, DEFAULT_MAX_FRAME_BYTES } from './frames.ts';
import { answerFor, answerIsRight, checkVerdict, makeChallenge, verdictFrame, wrongAnswer, HANDSHAKE_MAX_FRAME_BYTES } from './auth.ts';
import { encodeRequest, decodeReply } from './request-encoding.ts';
import { connectionKey, processOwnerId } from './client.ts';
import { Op, formatAddress, type ManagerAddress } from './protocol.ts';

const PUMP = `
const { workerData } = require('node:worker_threads');
const net = require('node:net');
const { port, signal, address } = workerData;
const counter = new Int32Array(signal);
function post(message) {
  port.postMessage(message);
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
}
let reason = 'the manager closed the connection';
// Never leave the blocked thread waiting: a failure here ends the connection.
process.on('uncaughtException', (error) => { reason = 'the socket pump failed: ' + error.message; socket.destroy(); });
const socket = typeof address === 'string' ? net.connect(address) : net.connect(address.port, address.host);
socket.setNoDelay(true);
socket.on('connect', () => post({ connected: true }));
socket.on('data', (chunk) => post({ chunk }));
socket.on('error', (error) => { reason = error.message; });
socket.on('close', () => { post({ closed: reason }); port.close(); });
port.on('message', (message) => {
  if (message.write) socket.write(message.write);
  else if (message.close) socket.destroy();
});
`;

const clients = new Map<string, SyncClient>();

export class SyncClient {
  private readonly counter = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly reader = new FrameReader(HANDSHAKE_MAX_FRAME_BYTES);
  private readonly frames: Buffer[] = [];
  private closed: string | null = null;
  private connected = false;
  private nextCallId = 1;

  private constructor(readonly address: ManagerAddress) {
    // The pump is a worker thread, and a child forked from the zygote cannot
    // start one (V8's thread platform is not forked with it): fail clearly
    // instead of hanging.
    if (processOrigin() === 'forked') {
      throw new MultiprocError(
        'ERR_MP_NOT_IN_FORKED_CHILD',
        'synchronous proxy calls need a worker thread, which a child forked from the forkserver zygote cannot start; use the async form (await proxy.method()) there',
      );
    }
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const worker = new Worker(PUMP, {
      eval: true,
      workerData: { port: port2, signal: this.counter.buffer, address },
      transferList: [port2],
    });
    worker.unref();
    this.port.unref();
  }

  /** This process's synchronous connection to `address`, made and authenticated on first use. */
  static for(address: ManagerAddress, authkey: Uint8Array): SyncClient {
    const key = connectionKey(address, authkey);
    let client = clients.get(key);
    if (!client || client.closed !== null) {
      client = new SyncClient(address);
      try {
        client.handshake(authkey);
      } catch (error) {
        client.port.postMessage({ close: true });
        throw error;
      }
      clients.set(key, client);
    }
    return client;
  }

  /** This process's synchronous connection to `address` if one was made, without making one. */
  static existing(address: ManagerAddress, authkey: Uint8Array): SyncClient | undefined {
    return clients.get(connectionKey(address, authkey));
  }

  /** Sends one request and blocks until its reply; throws ManagerGoneError if the manager is gone. */
  request(op: number, ...rest: unknown[]): unknown {
    if (this.closed !== null) throw this.goneError();
    const callId = this.nextCallId++;
    this.send(encodeRequest(op, callId, rest).body);
    for (;;) {
      const [replyId, status, value] = deserialize(this.nextFrame()) as [number, number, unknown];
      if (replyId === callId) return decodeReply(status, value);
    }
  }

  /** A request with no reply (decref). */
  notify(op: number, ...rest: unknown[]): void {
    if (this.closed === null) this.send(encodeRequest(op, 0, rest).body);
  }

  private handshake(authkey: Uint8Array): void {
    this.send(answerFor(authkey, this.nextFrame()));
    checkVerdict(this.nextFrame());
    const challenge = makeChallenge();
    this.send(challenge.frame);
    const accepted = answerIsRight(authkey, challenge.message, this.nextFrame());
    this.send(verdictFrame(accepted));
    if (!accepted) throw wrongAnswer();
    this.reader.maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
    this.request(Op.hello, processOwnerId);
  }

  private send(body: Buffer): void {
    this.port.postMessage({ write: frame(body) });
  }

  private nextFrame(): Buffer {
    for (;;) {
      const ready = this.frames.shift();
      if (ready) return ready;
      if (this.closed !== null) throw this.goneError();
      const seen = Atomics.load(this.counter, 0);
      const received = receiveMessageOnPort(this.port);
      if (!received) {
        Atomics.wait(this.counter, 0, seen);
        continue;
      }
      const message = received.message as { chunk?: Uint8Array; closed?: string; connected?: boolean };
      if (message.connected) this.connected = true;
      else if (message.closed !== undefined) this.closed = message.closed;
      else if (message.chunk) {
        try {
          this.frames.push(...this.reader.push(Buffer.from(message.chunk.buffer, message.chunk.byteOffset, message.chunk.length)));
        } catch (error) {
          this.closed = (error as Error).message;
          this.port.postMessage({ close: true });
        }
      }
    }
  }

  private goneError(): ManagerGoneError {
    const what = this.connected ? 'is gone' : 'could not be reached';
    return new ManagerGoneError(`the manager at ${formatAddress(this.address)} ${what} (${this.closed}); the call cannot complete`);
  }
}
