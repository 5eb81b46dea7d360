/**
 * The manager server: owns the referents, authenticates every connection
 * (nothing a peer sends is decoded before it has), runs method calls, and
 * counts references per connection so that a referent is freed when the last
 * proxy lets go, or when the processes holding it are gone.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { readSmall } from './small-frames.ts';
import { randomUUID } from 'node:crypto';
import { serializeForTransfer } from '../transfer/shareable.ts';
import { DOORBELL } from './lane-layout.ts';
import { LanePoller, LaneServer } from './lane-server.ts';
import { serializeFramed } from './frames.ts';
import { SocketSpin } from './socket-spin.ts';
import { FramedSocket } from './framed-socket.ts';
import { answerChallenge, deliverChallenge } from './auth.ts';
import { callContext } from './call-context.ts';
import { encodeError } from '../transfer/error-transfer.ts';
import { Op, Status, PROXY_KIND, PROXYTYPE, RELAY_ERROR, RELEASE_REFERENT, formatAddress, type ManagerAddress, type ProxyToken, type ErrorReport } from './protocol.ts';

/** How the server makes and exposes one typeid's referents. */
export interface ServerTypeEntry {
  factory: (...args: any[]) => unknown;
  exposed?: readonly string[];
  methodToTypeid?: Readonly<Record<string, string>>;
}

export interface ServerOptions {
  address: ManagerAddress;
  authkey: Uint8Array;
  maxFrameBytes: number;
  registry: ReadonlyMap<string, ServerTypeEntry>;
  /** Where a dropped connection's reason goes. */
  log: (line: string) => void;
}

interface Referent {
  object: any;
  typeid: string;
  exposed: ReadonlySet<string>;
  methodToTypeid: Readonly<Record<string, string>>;
  refs: number;
}

interface Client {
  link: FramedSocket;
  owner: string;
  refs: Map<number, number>;
  /** The shared-memory mailbox of a local client that offered one (lane-server.ts). */
  lane: LaneServer | null;
  /** The call now in the lane, answered through it; -1: none. */
  laneCallId: number;
  /** Reads the client's next socket request without a wake-up (socket-spin.ts). */
  spin: SocketSpin | null;
}

/** Public methods of `object`, as Python's public_methods(): every function not starting with '_'. */
function publicMethods(object: object): string[] {
  const names = new Set<string>();
  for (let o = object; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name !== 'constructor' && !name.startsWith('_') && typeof (object as any)[name] === 'function') names.add(name);
    }
  }
  return [...names];
}

function report(error: unknown): ErrorReport {
  if (error instanceof Error && (error as { [RELAY_ERROR]?: boolean })[RELAY_ERROR]) {
    return { name: error.name, message: error.message, stack: error.stack ?? '', wire: encodeError(error) };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack ?? '' };
  return { name: 'Error', message: String(error), stack: '' };
}

class Refusal extends Error {}

/** Lets a freed referent stop what it runs (a Pool's workers); its failure is no caller's business. */
function release(referent: Referent): void {
  try {
    referent.object[RELEASE_REFERENT]?.();
  } catch {
    // Nothing waits on a freed referent.
  }
}

export class ManagerServer {
  readonly serverId = randomUUID();
  private readonly referents = new Map<number, Referent>();
  private readonly clients = new Set<Client>();
  private nextId = 1;
  private readonly lanes = new LanePoller<Client>((client, lane) => this.serveLane(client, lane));
  private listener: Server | null = null;
  private boundAddress: ManagerAddress | null = null;
  /** Called after a client asked for shutdown and was answered. */
  onShutdown: () => void = () => {};

  constructor(private readonly options: ServerOptions) {}

  /** Starts listening; resolves with the bound address (the real port when port 0 was asked). */
  async listen(): Promise<ManagerAddress> {
    const server = createServer((socket) => this.accept(socket));
    this.listener = server;
    server.once('close', () => this.#markClosed());
    const { address } = this.options;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (typeof address === 'string') server.listen(address, resolve);
      else server.listen(address.port, address.host, resolve);
    });
    const bound = server.address();
    this.boundAddress =
      typeof address === 'string' || bound === null || typeof bound === 'string'
        ? address
        : { host: typeof address === 'string' ? address : address.host, port: bound.port };
    return this.boundAddress;
  }

  #markClosed!: () => void;
  readonly #closed = new Promise<void>((resolve) => (this.#markClosed = resolve));

  /** Resolves when the server has stopped listening (after close()). */
  closed(): Promise<void> {
    return this.#closed;
  }

  close(): void {
    if (this.listener) this.listener.close(() => this.#markClosed());
    else this.#markClosed();
    this.lanes.stop();
    for (const client of this.clients) client.link.close('the manager is shutting down');
    for (const referent of this.referents.values()) release(referent);
    this.referents.clear();
  }

  /** How many referents are alive: what reference counting is tested by. */
  get referentCount(): number {
    return this.referents.size;
  }

  private async accept(socket: Socket): Promise<void> {
    const link = new FramedSocket(socket);
    const client: Client = { link, owner: randomUUID(), refs: new Map(), lane: null, laneCallId: -1, spin: null };
    try {
      await deliverChallenge(link, this.options.authkey);
      await answerChallenge(link, this.options.authkey);
    } catch (error) {
      this.options.log(`manager ${formatAddress(this.boundAddress!)}: refused a connection: ${(error as Error).message}`);
      link.close('authentication failed');
      return;
    }
    this.clients.add(client);
    link.onClose((reason) => this.drop(client, reason));
    client.spin = SocketSpin.for(link);
    link.deliverTo((frame) => this.receive(client, frame), this.options.maxFrameBytes);
  }

  private drop(client: Client, reason: string): void {
    this.clients.delete(client);
    this.lanes.remove(client);
    client.lane = null;
    if (reason !== 'the peer closed the connection' && reason !== 'the manager is shutting down') {
      this.options.log(`manager ${formatAddress(this.boundAddress!)}: dropped a connection: ${reason}`);
    }
    // The process behind this connection holds no proxy any more.
    for (const [id, count] of client.refs) this.decref(id, count);
    client.refs.clear();
  }

  private receive(client: Client, frame: Buffer): void {
    if (client.lane) {
      // A request in the lane was published before anything the client sent after it: it runs first.
      this.serveLane(client, client.lane);
      if (frame.length === 0) return this.lanes.wake(); // the doorbell: the lane has a request, and more may follow
    }
    if (frame.length === 0) return; // a doorbell before a lane: nothing to do
    const message = this.decodeRequest(client, frame);
    if (message) this.dispatch(client, message);
    this.lanes.wake(); // the next request is likely close behind: read it without a wake-up
    if (client.lane === null) client.spin?.readForNextRequest();
  }

  /** Runs the request in `client`'s lane, if there is one; whether there was. */
  private serveLane(client: Client, lane: LaneServer): boolean {
    let body: Buffer | null;
    try {
      body = lane.take();
    } catch (error) {
      client.link.close((error as Error).message);
      return false;
    }
    if (body === null) return false;
    const message = this.decodeRequest(client, body);
    if (message) {
      client.laneCallId = message[1] as number;
      this.dispatch(client, message);
    }
    return true;
  }

  /** A frame as a request, or null after closing the connection of a client that sent something else. */
  private decodeRequest(client: Client, frame: Buffer): unknown[] | null {
    let message: unknown;
    try {
      message = readSmall(frame);
    } catch (error) {
      client.link.close(`an undecodable frame: ${(error as Error).message}`);
      return null;
    }
    if (!Array.isArray(message) || typeof message[0] !== 'number' || !Number.isSafeInteger(message[1])) {
      client.link.close('a frame that is not a manager request');
      return null;
    }
    return message;
  }

  /**
   * Runs one request. A call whose method returns a plain value is answered
   * in the same turn, with no Promise in between: most calls are, and the
   * manager's speed is the round trip's.
   */
  private dispatch(client: Client, message: unknown[]): void {
    const callId = message[1] as number;
    const failed = (error: unknown) => this.reply(client, callId, Status.error, report(error));
    try {
      this.handle(client, callId, message)?.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  private handle(client: Client, callId: number, message: unknown[]): Promise<void> | void {
    switch (message[0]) {
      case Op.call:
        return this.call(client, callId, message[2], message[3], message[4], message[5] === true);
      case Op.create:
        return this.create(client, callId, message[2], message[3], message[4] === true);
      case Op.incref: {
        const id = message[2] as number;
        this.referent(id).refs++;
        this.hold(client, id);
        return this.reply(client, callId, Status.ok, null);
      }
      case Op.decref: {
        const id = message[2] as number;
        const held = client.refs.get(id) ?? 0;
        if (held > 0) {
          if (held === 1) client.refs.delete(id);
          else client.refs.set(id, held - 1);
          this.decref(id, 1);
        }
        return;
      }
      case Op.hello:
        if (typeof message[2] !== 'string') throw new Refusal('hello needs an owner id');
        client.owner = message[2];
        return this.reply(client, callId, Status.ok, this.serverId);
      case Op.lane: {
        const lane = client.lane ? 'this connection has a lane already' : LaneServer.open(message[2], message[3]);
        // Refused: the reason goes back, and the client keeps to the socket.
        if (typeof lane === 'string') return this.reply(client, callId, Status.ok, lane);
        client.lane = lane;
        this.lanes.add(client, lane);
        return this.reply(client, callId, Status.ok, true);
      }
      case Op.count:
        return this.reply(client, callId, Status.ok, this.referents.size);
      case Op.shutdown:
        this.reply(client, callId, Status.ok, null);
        return this.onShutdown();
      default:
        client.link.close(`a request with unknown op ${String(message[0])}`);
    }
  }

  private call(client: Client, callId: number, id: unknown, method: unknown, args: unknown, carriesProxies: boolean): Promise<void> | void {
    if (typeof id !== 'number' || typeof method !== 'string' || !Array.isArray(args)) {
      return client.link.close('a malformed call request');
    }
    const referent = this.referent(id);
    if (!referent.exposed.has(method)) {
      throw new Refusal(`method '${method}' of typeid '${referent.typeid}' is not exposed`);
    }
    if (carriesProxies) this.keepStoredProxies(args);
    callContext.owner = client.owner;
    let result: unknown;
    try {
      result = referent.object[method](...args);
    } finally {
      callContext.owner = '';
    }
    if (result instanceof Promise) return result.then((value) => this.answerCall(client, callId, referent, method, value));
    this.answerCall(client, callId, referent, method, result);
  }

  private answerCall(client: Client, callId: number, referent: Referent, method: string, result: unknown): void {
    const typeid = referent.methodToTypeid[method];
    if (typeid) return this.reply(client, callId, Status.token, this.adopt(client, typeid, result));
    this.reply(client, callId, Status.ok, result);
  }

  private async create(client: Client, callId: number, typeid: unknown, args: unknown, carriesProxies: boolean): Promise<void> {
    if (typeof typeid !== 'string' || !Array.isArray(args)) return client.link.close('a malformed create request');
    const entry = this.options.registry.get(typeid);
    if (!entry) throw new Refusal(`typeid '${typeid}' is not registered with this manager`);
    if (carriesProxies) this.keepStoredProxies(args);
    let object = entry.factory(...args);
    if (object instanceof Promise) object = await object;
    this.reply(client, callId, Status.token, this.adopt(client, typeid, object));
  }

  /** Makes `object` a referent held by one proxy of `client`, and returns its token. */
  private adopt(client: Client, typeid: string, object: unknown): ProxyToken {
    if (typeof object !== 'object' || object === null) {
      throw new Refusal(`the factory of typeid '${typeid}' returned ${object === null ? 'null' : typeof object}, not an object`);
    }
    const entry = this.options.registry.get(typeid);
    const exposed = entry?.exposed ? [...entry.exposed] : publicMethods(object);
    const id = this.nextId++;
    this.referents.set(id, {
      object,
      typeid,
      exposed: new Set(exposed),
      methodToTypeid: entry?.methodToTypeid ?? {},
      refs: 1,
    });
    this.hold(client, id);
    const proxytype = (object.constructor as { [PROXYTYPE]?: string } | undefined)?.[PROXYTYPE];
    return { address: this.boundAddress!, serverId: this.serverId, typeid, id, exposed, ...(proxytype ? { proxytype } : {}) };
  }

  private referent(id: unknown): Referent {
    const referent = this.referents.get(id as number);
    if (!referent) {
      const error = new Refusal(`referent ${String(id)} no longer exists in the manager: it was released or the manager restarted`);
      error.name = 'ReferentGoneError';
      throw error;
    }
    return referent;
  }

  private hold(client: Client, id: number): void {
    client.refs.set(id, (client.refs.get(id) ?? 0) + 1);
  }

  private decref(id: number, count: number): void {
    const referent = this.referents.get(id);
    if (!referent) return;
    referent.refs -= count;
    if (referent.refs <= 0) {
      this.referents.delete(id);
      release(referent);
    }
  }

  /**
   * A proxy of this server stored inside a managed object (d.set('k', list))
   * keeps its referent alive for as long as the manager runs, as Python's
   * manager-owned proxies do; the sender's own proxy may be dropped at once.
   */
  private keepStoredProxies(value: unknown, depth = 0): void {
    if (typeof value !== 'object' || value === null || depth > 64) return;
    const marker = (value as Record<string, any>).__multiproc_shareable__;
    const token = marker?.kind === PROXY_KIND ? marker.state?.token : undefined;
    if (token?.serverId === this.serverId) {
      const referent = this.referents.get(token.id);
      if (referent) referent.refs++;
      return;
    }
    const children = value instanceof Map ? [...value.keys(), ...value.values()] : value instanceof Set ? [...value] : Object.values(value);
    for (const child of children) this.keepStoredProxies(child, depth + 1);
  }

  private reply(client: Client, callId: number, status: number, value: unknown): void {
    if (client.link.closed) return;
    let framed: Buffer;
    try {
      // A primitive result needs no walk for shareables: most replies are one.
      const kind = typeof value;
      const plain = status !== Status.ok || value === null || (kind !== 'object' && kind !== 'function' && kind !== 'symbol');
      framed = plain ? serializeFramed([callId, status, value]) : serializeForTransfer([callId, status, value], 'the result', serializeFramed);
    } catch (error) {
      framed = serializeFramed([callId, Status.error, report(error)]);
    }
    if (client.lane !== null && callId === client.laneCallId) {
      client.laneCallId = -1;
      const next = client.lane.answer(framed);
      if (next === 'doorbell') client.link.sendFramed(DOORBELL);
      if (next !== 'socket') return;
    }
    client.link.sendFramed(framed);
  }
}
