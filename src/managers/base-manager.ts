/**
 * BaseManager: Python's multiprocessing.managers.BaseManager. A class keeps
 * a registry of typeids (register(), copied on first use by a subclass, so
 * a subclass adds types without touching its parent's). An instance either
 * starts a server process (start()), serves in this process
 * (serveForever()), or connects to a server elsewhere (connect()), and
 * makes proxies of the registered types (create(), or the method register()
 * adds under the typeid's name).
 */
import { randomUUID } from 'node:crypto';
import { Process, processClassFor } from '../process/process.ts';
import { currentProcess } from '../process/current-process.ts';
import { startMethodOf } from '../process/children.ts';
import { referenceFunction } from '../transfer/function-reference.ts';
import { Pipe, type Connection } from '../channels/connection.ts';
import { InvalidStateError, ManagerGoneError } from '../errors.ts';
import { ManagerClient } from './client.ts';
import { SyncClient } from './sync-client.ts';
import { ManagerServer } from './server.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './frames.ts';
import { IssuedToken } from './request-encoding.ts';
import { makeProxy, type BaseProxy } from './proxy.ts';
import { asFactory, logToStderr, runManagerServer, type ServerChildConfig, type StartReport } from './server-child.ts';
import { Op, formatAddress, type ManagerAddress } from './protocol.ts';

/** Options of BaseManager.register(). */
export interface RegisterOptions {
  /** Method names proxies may call; default: the referent's public methods (names not starting with '_'). */
  exposed?: readonly string[];
  /** Methods whose result stays in the manager and comes back as a proxy of the named typeid. */
  methodToTypeid?: Readonly<Record<string, string>>;
  /** Whether register() adds a creating method named after the typeid (default true). */
  create?: boolean;
}

/** Options of `new BaseManager()`. */
export interface BaseManagerOptions {
  /** Where the server listens, or where connect() goes; default: a private local socket (start) or loopback (serveForever). */
  address?: ManagerAddress;
  /** Shared secret of the challenge–response; default: currentProcess().authkey. */
  authkey?: Uint8Array;
  /** The context whose start method start() uses (ctx.Manager() sets it). */
  context?: { Process: typeof Process };
  /** Frames bigger than this close the connection; default 64 MiB. */
  maxFrameBytes?: number;
}

interface RegistryEntry extends RegisterOptions {
  factory: Function | null;
}

type State = 'initial' | 'started' | 'connected' | 'serving' | 'shutdown';

const registries = new WeakMap<Function, Map<string, RegistryEntry>>();

function registryOf(cls: Function): Map<string, RegistryEntry> {
  let own = registries.get(cls);
  if (!own) {
    const parent = Object.getPrototypeOf(cls);
    own = new Map(typeof parent === 'function' && parent !== Function.prototype ? registryOf(parent) : []);
    registries.set(cls, own);
  }
  return own;
}

function checkAddress(address: unknown): ManagerAddress {
  if (typeof address === 'string' && address.length > 0) return address;
  if (typeof address === 'object' && address !== null) {
    const { host, port } = address as { host: unknown; port: unknown };
    if (typeof host === 'string' && host.length > 0 && Number.isInteger(port) && (port as number) >= 0 && (port as number) < 65536) {
      return { host, port: port as number };
    }
  }
  throw new TypeError(`address must be a socket path or { host: string, port: integer 0-65535 }, got ${JSON.stringify(address)}`);
}

export class BaseManager {
  /** Registers `typeid` on this class (and its subclasses); `factory` makes the referent in the server. */
  static register(typeid: string, factory: Function | null = null, options: RegisterOptions = {}): void {
    if (typeof typeid !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(typeid)) {
      throw new TypeError(`typeid must be an identifier string, got ${JSON.stringify(typeid)}`);
    }
    if (factory !== null && typeof factory !== 'function') throw new TypeError(`factory must be a function or class, got ${typeof factory}`);
    if (typeof options !== 'object' || options === null) throw new TypeError('register options must be an object');
    const { exposed, methodToTypeid, create = true } = options;
    if (exposed !== undefined && (!Array.isArray(exposed) || exposed.some((name) => typeof name !== 'string'))) {
      throw new TypeError("register option 'exposed' must be an array of method names");
    }
    if (methodToTypeid !== undefined && (typeof methodToTypeid !== 'object' || methodToTypeid === null)) {
      throw new TypeError("register option 'methodToTypeid' must be an object mapping method names to typeids");
    }
    registryOf(this).set(typeid, { factory, exposed, methodToTypeid, create });
    if (create) {
      Object.defineProperty(this.prototype, typeid, {
        value(this: BaseManager, ...args: unknown[]) {
          return this.create(typeid, ...args);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  #state: State = 'initial';
  #address: ManagerAddress | null;
  readonly #authkey: Buffer;
  readonly #context: { Process: typeof Process } | undefined;
  readonly #maxFrameBytes: number;
  #process: Process | null = null;
  #server: ManagerServer | null = null;

  constructor(options: BaseManagerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('BaseManager options must be an object');
    const { address, authkey, context, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES } = options;
    this.#address = address === undefined ? null : checkAddress(address);
    if (authkey !== undefined && !(authkey instanceof Uint8Array)) throw new TypeError(`authkey must be a Buffer or Uint8Array, got ${typeof authkey}`);
    this.#authkey = Buffer.from(authkey ?? currentProcess().authkey);
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1024) {
      throw new TypeError(`maxFrameBytes must be an integer of at least 1024, got ${String(maxFrameBytes)}`);
    }
    this.#maxFrameBytes = maxFrameBytes;
    this.#context = context;
  }

  /** Where the server listens (known after start(), serveForever() or connect()). */
  get address(): ManagerAddress | null {
    return this.#address;
  }

  /** The server process's pid after start(); null when serving here, connected, or not started. */
  get pid(): number | null {
    return this.#process?.pid ?? null;
  }

  /** Starts the server in a child process with the context's start method; resolves once it listens. */
  async start(): Promise<void> {
    this.#expect('initial', 'start');
    const config: ServerChildConfig = {
      address: this.#address ?? `\0multiproc-manager-${process.pid}-${randomUUID()}`,
      authkey: this.#authkey,
      maxFrameBytes: this.#maxFrameBytes,
      registry: [...registryOf(this.constructor)].map(([typeid, entry]) => ({
        typeid,
        factory: entry.factory ? referenceFunction(entry.factory, `factory of typeid '${typeid}'`) : null,
        exposed: entry.exposed,
        methodToTypeid: entry.methodToTypeid,
      })),
    };
    const [reader, writer] = Pipe({ duplex: false });
    const chosen = this.#context?.Process ?? Process;
    // The server imports the registered types' modules, which a child forked
    // from the forkserver zygote cannot do under a loader thread (tsx): the
    // import waits forever for that thread (seen). So under forkserver the
    // server is booted as under spawn; its clients may be forkserver children.
    const ProcessClass = startMethodOf(chosen).name === 'forkserver' ? processClassFor('spawn') : chosen;
    // A daemon, so that it never keeps this program alive and is stopped when it exits.
    const child = new ProcessClass({ target: runManagerServer, args: [config, writer], name: 'SyncManager', daemon: true });
    this.#state = 'started';
    try {
      child.start();
      writer.close();
      this.#process = child;
      const report = await this.#startReport(reader, child);
      if ('error' in report) throw new ManagerGoneError(`the manager could not start: ${report.error}`);
      this.#address = report.address;
    } catch (error) {
      this.#state = 'shutdown';
      if (child.isAlive()) child.kill();
      throw error;
    } finally {
      reader.close();
    }
  }

  /**
   * The server's report, or its exit code if it died first. The reader sees
   * EOF once the child dies after attaching its end; the bounded joins cover
   * a death before that, and unlike one pending join() they stop holding
   * this program open once the report is in.
   */
  async #startReport(reader: Connection, child: Process): Promise<StartReport> {
    let reported = false;
    const received = reader.recv().then(
      (report) => report as StartReport,
      (error: Error) => ({ error: `the manager process ended before listening (${error.message})` }),
    );
    const died = (async (): Promise<StartReport> => {
      while (!reported && child.exitCode === null) await child.join(100);
      return { error: `the manager process exited with code ${child.exitCode} before listening` };
    })();
    try {
      return await Promise.race([received, died]);
    } finally {
      reported = true;
    }
  }

  /** Connects to a server already running at `address` (another process or machine). */
  async connect(): Promise<void> {
    this.#expect('initial', 'connect');
    if (!this.#address) throw new TypeError('connect() needs the address option');
    await ManagerClient.for(this.#address, this.#authkey);
    this.#state = 'connected';
  }

  /**
   * Runs the server in this process until a client asks for shutdown (or
   * shutdown() is called here). The default address is loopback, port 0 (see `address`).
   */
  async serveForever(): Promise<void> {
    if (this.#state === 'initial') await this.listen();
    else if (this.#state !== 'serving') throw new InvalidStateError(`cannot serve a manager that is ${this.#state}`);
    await this.#server!.closed();
  }

  /** Starts serving in this process and resolves once listening; serveForever() without the wait. */
  async listen(): Promise<ManagerAddress> {
    this.#expect('initial', 'serve');
    const address = this.#address ?? { host: '127.0.0.1', port: 0 };
    const registry = new Map(
      [...registryOf(this.constructor)].flatMap(([typeid, entry]) =>
        entry.factory ? [[typeid, { factory: asFactory(entry.factory), exposed: entry.exposed, methodToTypeid: entry.methodToTypeid }] as const] : [],
      ),
    );
    const server = new ManagerServer({ address, authkey: this.#authkey, maxFrameBytes: this.#maxFrameBytes, registry, log: logToStderr });
    this.#server = server;
    this.#state = 'serving';
    const closed = server.closed();
    server.onShutdown = () => server.close();
    this.#address = await server.listen();
    void closed.then(() => (this.#state = 'shutdown'));
    return this.#address;
  }

  /** Makes a referent of `typeid` in the manager and returns its proxy. */
  async create<T = any>(typeid: string, ...args: unknown[]): Promise<T> {
    const client = await ManagerClient.for(this.#ready('create'), this.#authkey);
    const reply = await client.request(Op.create, typeid, args);
    return makeProxy((reply as IssuedToken).token, this.#authkey, 'async') as T;
  }

  /** Blocking form of create(), for synchronous code. */
  createSync<T = any>(typeid: string, ...args: unknown[]): T {
    const reply = SyncClient.for(this.#ready('createSync'), this.#authkey).request(Op.create, typeid, args);
    return makeProxy((reply as IssuedToken).token, this.#authkey, 'sync') as T;
  }

  /** How many referents the manager holds (Python's _number_of_objects); for checking reference counts. */
  async numberOfObjects(): Promise<number> {
    const client = await ManagerClient.for(this.#ready('numberOfObjects'), this.#authkey);
    return (await client.request(Op.count)) as number;
  }

  /**
   * Stops the server (started or served here) and waits for its process to
   * exit; every proxy call afterwards fails with ManagerGoneError. On a
   * connected manager, closes this process's connection only. Idempotent.
   */
  async shutdown(): Promise<void> {
    const state = this.#state;
    if (state === 'shutdown' || state === 'initial') return;
    this.#state = 'shutdown';
    const address = this.#address!;
    if (state === 'serving') {
      this.#server!.close();
      await this.#server!.closed();
    } else if (state === 'started') {
      const child = this.#process!;
      try {
        const client = await ManagerClient.for(address, this.#authkey);
        await client.request(Op.shutdown);
      } catch {
        // Already gone: then there is nothing to stop, only a process to reap.
      }
      await child.join(5000);
      if (child.exitCode === null) {
        child.kill();
        await child.join();
      }
      child.close();
    }
    SyncClient.existing(address, this.#authkey)?.close('the manager was shut down');
    (await ManagerClient.existing(address, this.#authkey)?.catch(() => null))?.close('the manager was shut down');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #ready(operation: string): ManagerAddress {
    if (this.#state === 'initial') throw new InvalidStateError(`${operation}: the manager is not started: call start(), connect() or listen() first`);
    if (this.#state === 'shutdown') throw new ManagerGoneError(`${operation}: the manager at ${formatAddress(this.#address!)} was shut down`);
    return this.#address!;
  }

  #expect(state: State, operation: string): void {
    if (this.#state !== state) throw new InvalidStateError(`cannot ${operation} a manager that is ${this.#state === 'serving' ? 'serving' : this.#state}`);
  }
}

export type { BaseProxy };
