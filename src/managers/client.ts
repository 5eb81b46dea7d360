/**
 * The async side of a manager connection, one per manager per process,
 * shared by all its proxies. Replies are matched to calls by id, so calls
 * may be in flight together. When the connection drops (the manager died or
 * shut down), every pending call and every later one fails at once with
 * ManagerGoneError: nothing waits for a reply that cannot come.
 */
import { connect } from 'node:net';
import { readSmall } from './small-frames.ts';
import { createHash, randomUUID } from 'node:crypto';
import { ManagerGoneError } from '../errors.ts';
import { FramedSocket } from './framed-socket.ts';
import { answerChallenge, deliverChallenge } from './auth.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frames.ts';
import { encodeRequest, decodeReply } from './request-encoding.ts';
import { Op, formatAddress, type ManagerAddress } from './protocol.ts';
import { DOORBELL } from './lane-layout.ts';
import { LaneClient, LaneReplyWatch, ON_SOCKET, lanesEnabled } from './lane-client.ts';
import { SocketSpin, SOCKET_SPIN_US } from './socket-spin.ts';

/** This process as an owner of RLocks and Conditions, the same on all its connections. */
export const processOwnerId = randomUUID();

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/** Connections are shared per address and key: a client with another key must authenticate on its own. */
export function connectionKey(address: ManagerAddress, authkey: Uint8Array): string {
  const where = typeof address === 'string' ? `unix:${address}` : `tcp:${address.host}:${address.port}`;
  return `${where}#${createHash('sha256').update(authkey).digest('hex')}`;
}

/** Opens a socket to `address` and runs both halves of the handshake. */
export async function openAuthenticated(address: ManagerAddress, authkey: Uint8Array): Promise<FramedSocket> {
  const socket = typeof address === 'string' ? connect(address) : connect(address.port, address.host);
  const link = new FramedSocket(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  } catch (error) {
    link.close('connect failed');
    throw new ManagerGoneError(`cannot connect to the manager at ${formatAddress(address)}: ${(error as Error).message}`);
  }
  try {
    await answerChallenge(link, authkey);
    await deliverChallenge(link, authkey);
  } catch (error) {
    link.close('authentication failed');
    if ((error as Error).name === 'AuthenticationError') throw error;
    throw new ManagerGoneError(`the manager at ${formatAddress(address)} closed the connection during the handshake`);
  }
  return link;
}

const clients = new Map<string, Promise<ManagerClient>>();

const lostListeners: ((key: string, reason: string) => void)[] = [];

/** Calls `listener` with the connection key and reason whenever this process's async connection to a manager drops. */
export function onConnectionLost(listener: (key: string, reason: string) => void): void {
  lostListeners.push(listener);
}

export class ManagerClient {
  private readonly pending = new Map<number, Pending>();
  private nextCallId = 1;
  private gone: ManagerGoneError | null = null;
  private lane: LaneClient | null = null;
  private laneWatch: LaneReplyWatch | null = null;
  private readonly replySpin: SocketSpin | null;
  /**
   * A notification sent through the socket is confirmed processed only by
   * the reply to a later socket request (the server reads a socket in
   * order); until then no call takes the lane, which could overtake it.
   * The first call id that confirms it; 0: nothing unconfirmed.
   */
  private confirmedFrom = 0;

  private constructor(
    private readonly link: FramedSocket,
    readonly address: ManagerAddress,
    private readonly key: string,
  ) {
    link.socket.unref();
    this.replySpin = SocketSpin.for(link);
    link.deliverTo((frame) => this.receive(frame), DEFAULT_MAX_FRAME_BYTES);
    link.onClose((reason) => this.fail(reason));
  }

  /** This process's connection to the manager at `address`, made (and authenticated) on first use. */
  static for(address: ManagerAddress, authkey: Uint8Array): Promise<ManagerClient> {
    const key = connectionKey(address, authkey);
    let client = clients.get(key);
    if (!client) {
      client = (async () => {
        const made = new ManagerClient(await openAuthenticated(address, authkey), address, key);
        await made.request(Op.hello, processOwnerId);
        // A local manager (Unix socket) shares this machine's memory: offer a lane.
        if (typeof address === 'string' && lanesEnabled) await made.offerLane();
        return made;
      })();
      clients.set(key, client);
      client.catch(() => clients.delete(key));
    }
    return client;
  }

  /** This process's connection to `address` if one was made, without making one. */
  static existing(address: ManagerAddress, authkey: Uint8Array): Promise<ManagerClient> | undefined {
    return clients.get(connectionKey(address, authkey));
  }

  /** Sends one request; resolves with the decoded value, or a token for Status.token replies. */
  request(op: number, ...rest: unknown[]): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const callId = this.nextCallId++;
    const { framed } = encodeRequest(op, callId, rest);
    return new Promise((resolve, reject) => {
      this.pending.set(callId, { resolve, reject });
      if (this.pending.size === 1) this.link.socket.ref();
      const lane = this.lane;
      // The lane carries a call only when nothing else is in flight, so that no call overtakes another.
      if (lane !== null && this.pending.size === 1 && this.confirmedFrom === 0 && lane.free && lane.trySend(framed)) {
        if (lane.serverAsleep) this.link.sendFramed(DOORBELL);
        this.laneWatch!.start();
      } else {
        this.link.sendFramed(framed);
        if (this.pending.size === 1 && lane === null) this.replySpin?.read(SOCKET_SPIN_US, SOCKET_SPIN_US, () => !this.pending.has(callId));
      }
    });
  }

  /** A request with no reply (decref): fire and forget, silently dropped once the manager is gone. */
  notify(op: number, ...rest: unknown[]): void {
    if (this.gone) return;
    this.link.sendFramed(encodeRequest(op, 0, rest).framed);
    if (this.lane !== null) this.confirmedFrom = this.nextCallId;
  }

  /**
   * Offers the manager a lane (lane-layout.ts); it maps it or says why not,
   * and either way the name is unlinked at once. A manager that cannot map
   * it (another machine's /dev/shm, an older build) leaves the connection on
   * the socket, which works for everything.
   */
  private async offerLane(): Promise<void> {
    let lane: LaneClient;
    try {
      lane = LaneClient.create();
    } catch {
      return; // no shared memory to spare: the socket does it all
    }
    try {
      if ((await this.request(Op.lane, lane.name, lane.nonce)) !== true) return;
    } catch (error) {
      // An older manager refuses the op and says so; a dead one fails the next call too.
      if (error instanceof ManagerGoneError) throw error;
      return;
    } finally {
      lane.unlinkName();
    }
    this.lane = lane;
    this.laneWatch = new LaneReplyWatch(lane, (reply) => this.laneReply(reply), (error) => this.link.close(error.message));
  }

  private laneReply(reply: Buffer | typeof ON_SOCKET): void {
    // Too big for the mailbox: the reply comes through the socket, matched by call id as usual.
    if (reply !== ON_SOCKET) this.receive(reply);
  }

  /** Closes this process's connection, failing any pending call. */
  close(reason: string): void {
    this.link.close(reason);
  }

  private receive(frame: Buffer): void {
    if (frame.length === 0) return this.laneWatch?.doorbell(); // the lane's doorbell: its reply is in
    let reply: [number, number, unknown];
    try {
      reply = readSmall(frame);
    } catch (error) {
      return this.link.close(`the manager sent an undecodable frame: ${(error as Error).message}`);
    }
    const [callId, status, value] = reply;
    if (this.confirmedFrom !== 0 && callId >= this.confirmedFrom) this.confirmedFrom = 0;
    const pending = this.pending.get(callId);
    if (!pending) return;
    this.pending.delete(callId);
    if (this.pending.size === 0) this.link.socket.unref();
    try {
      pending.resolve(decodeReply(status, value));
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  private fail(reason: string): void {
    this.gone = new ManagerGoneError(
      `the manager at ${formatAddress(this.address)} is gone (${reason}); the call cannot complete`,
    );
    clients.delete(this.key);
    this.laneWatch?.stop();
    for (const pending of this.pending.values()) pending.reject(this.gone);
    this.pending.clear();
    for (const listener of lostListeners) listener(this.key, reason);
  }
}
