/**
 * Proxies: a process's handle on an object that lives in a manager. Every
 * exposed method `m` of the referent becomes `m(...)`, returning a Promise,
 * and `mSync(...)`, blocking (see sync-client.ts), on a class made once per
 * typeid and method list. A proxy is a shareable: it travels as its token to
 * children, through queues and pipes, and into other managed objects.
 *
 * Reference counting, as in Python: the manager counts one reference per
 * proxy, on the connection that holds it. A proxy made by the manager holds
 * its reference from birth; a proxy revived from a transfer takes one on its
 * first call. `dropReference()` (or `using`) or garbage collection gives it back;
 * when a process's connection closes, the manager drops all its references.
 */
import { reduceForTransfer, type ReducedShareable } from '../transfer/shareable.ts';
import { currentProcess } from '../process/current-process.ts';
import { ReferentGoneError } from '../errors.ts';
import { ManagerClient } from './client.ts';
import { SyncClient } from './sync-client.ts';
import { IssuedToken, proxyReductions } from './request-encoding.ts';
import { Op, PROXY_KIND, type ManagerAddress, type ProxyToken } from './protocol.ts';

type Fn = (...args: any[]) => any;

/** The async methods of a proxy of T: each method of T, returning a Promise. */
export type AsyncMethods<T> = {
  [K in keyof T as T[K] extends Fn ? K : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** The sync methods of a proxy of T: `mSync` for each method `m`, blocking until the manager replies. */
export type SyncMethods<T> = {
  [K in keyof T as T[K] extends Fn ? `${K & string}Sync` : never]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Awaited<R> : never;
};

/** A proxy of a managed T: BaseProxy plus T's methods in async and Sync forms. */
export type Proxy<T> = BaseProxy & AsyncMethods<T> & SyncMethods<T>;

interface Reference {
  address: ManagerAddress;
  authkey: Uint8Array;
  id: number;
  /** Which of this process's connections holds the manager's count for this proxy; null: none yet. */
  holder: 'async' | 'sync' | null;
  released: boolean;
}

function giveBack(reference: Reference): void {
  if (reference.released || reference.holder === null) return;
  reference.released = true;
  if (reference.holder === 'sync') SyncClient.existing(reference.address, reference.authkey)?.notify(Op.decref, reference.id);
  else ManagerClient.existing(reference.address, reference.authkey)?.then((client) => client.notify(Op.decref, reference.id), () => {});
}

const collected = new FinalizationRegistry<Reference>(giveBack);

/** Base class of every proxy; its methods are on the classes made by proxyClassFor. */
export class BaseProxy {
  readonly #token: ProxyToken;
  readonly #authkey: Uint8Array;
  readonly #reference: Reference;
  #client: ManagerClient | null = null;
  #syncClient: SyncClient | null = null;

  constructor(token: ProxyToken, authkey: Uint8Array, holder: Reference['holder']) {
    this.#token = token;
    this.#authkey = authkey;
    this.#reference = { address: token.address, authkey, id: token.id, holder, released: false };
    collected.register(this, this.#reference, this.#reference);
  }

  /** The typeid this proxy's referent was registered under. */
  get typeid(): string {
    return this.#token.typeid;
  }

  /** Calls an exposed method by name: what the generated methods do. */
  callMethod(method: string, args: unknown[] = []): Promise<unknown> {
    // Connected and counted already (nearly every call): one Promise, not an async function's chain of them.
    const client = this.#client;
    const reference = this.#reference;
    if (client !== null && reference.holder !== null && !reference.released) {
      try {
        return client.request(Op.call, reference.id, method, args).then(this.#wrap);
      } catch (error) {
        // An argument that cannot travel rejects, as on the first call, rather than throwing.
        return Promise.reject(error);
      }
    }
    return this.#firstCall(method, args);
  }

  readonly #wrap = (result: unknown): unknown =>
    result instanceof IssuedToken ? makeProxy(result.token, this.#authkey, 'async') : result;

  async #firstCall(method: string, args: unknown[]): Promise<unknown> {
    const client = this.#client ?? (this.#client = await ManagerClient.for(this.#token.address, this.#authkey));
    const reference = this.#reference;
    if (reference.released) throw this.releasedError();
    if (reference.holder === null) {
      reference.holder = 'async';
      await client.request(Op.incref, reference.id);
    }
    const result = await client.request(Op.call, reference.id, method, args);
    return result instanceof IssuedToken ? makeProxy(result.token, this.#authkey, 'async') : result;
  }

  /** Calls an exposed method by name and blocks until the manager replies. */
  callMethodSync(method: string, args: unknown[] = []): unknown {
    let client = this.#syncClient;
    if (!client?.usable) client = this.#syncClient = SyncClient.for(this.#token.address, this.#authkey);
    const reference = this.#reference;
    if (reference.released) throw this.releasedError();
    if (reference.holder === null) {
      client.request(Op.incref, reference.id);
      reference.holder = 'sync';
    }
    const result = client.request(Op.call, reference.id, method, args);
    return result instanceof IssuedToken ? makeProxy(result.token, this.#authkey, 'sync') : result;
  }

  /**
   * Gives this proxy's reference back to the manager now; later calls throw.
   * Idempotent. (Not named release(), which is a lock proxy's own method.)
   */
  dropReference(): void {
    collected.unregister(this.#reference);
    if (this.#reference.holder === null) this.#reference.released = true;
    giveBack(this.#reference);
  }

  [Symbol.dispose](): void {
    this.dropReference();
  }

  [reduceForTransfer](): ReducedShareable {
    proxyReductions.count++;
    // The key travels only when it is not the receiver's default already
    // (children inherit Process.authkey), so a default manager's key never does.
    const own = currentProcess().authkey;
    const authkey = Buffer.compare(Buffer.from(this.#authkey), own) === 0 ? null : this.#authkey;
    return { kind: PROXY_KIND, state: { token: this.#token, authkey } };
  }

  toString(): string {
    return `<${this.#token.typeid} proxy, referent ${this.#token.id}>`;
  }

  private releasedError(): ReferentGoneError {
    return new ReferentGoneError(`this ${this.#token.typeid} proxy was released; it cannot be used any more`);
  }
}

const classes = new Map<string, typeof BaseProxy>();
const proxyTypes = new Map<string, typeof BaseProxy>();

/**
 * Names a library proxy class for tokens whose referent class names it
 * (protocol.ts PROXYTYPE): its own methods replace the generated ones of
 * the same name, e.g. a Pool proxy's, which send a task function by reference.
 */
export function registerProxyType(name: string, base: typeof BaseProxy): void {
  proxyTypes.set(name, base);
}

/** The proxy class for a typeid and its exposed methods, made once. */
function proxyClassFor(token: ProxyToken): typeof BaseProxy {
  const key = `${token.typeid}\0${token.proxytype ?? ''}\0${token.exposed.join('\0')}`;
  let made = classes.get(key);
  if (!made) {
    const base = (token.proxytype && proxyTypes.get(token.proxytype)) || BaseProxy;
    made = class extends base {};
    Object.defineProperty(made, 'name', { value: `${token.typeid}Proxy` });
    const own = (name: string) => base !== BaseProxy && Object.prototype.hasOwnProperty.call(base.prototype, name);
    for (const method of token.exposed) {
      if (!own(method)) Object.defineProperty(made.prototype, method, {
        value(this: BaseProxy, ...args: unknown[]) {
          return this.callMethod(method, args);
        },
        writable: true,
        configurable: true,
      });
      if (!own(`${method}Sync`)) Object.defineProperty(made.prototype, `${method}Sync`, {
        value(this: BaseProxy, ...args: unknown[]) {
          return this.callMethodSync(method, args);
        },
        writable: true,
        configurable: true,
      });
    }
    classes.set(key, made);
  }
  return made;
}

export function makeProxy(token: ProxyToken, authkey: Uint8Array, holder: 'async' | 'sync' | null): BaseProxy {
  const ProxyClass = proxyClassFor(token);
  return new ProxyClass(token, authkey, holder);
}

/** Rebuilds a proxy that crossed to another process (registered in shareable-kinds.ts). */
export function reviveProxy(state: { token: ProxyToken; authkey: Uint8Array | null }): BaseProxy {
  return makeProxy(state.token, state.authkey ?? currentProcess().authkey, null);
}
