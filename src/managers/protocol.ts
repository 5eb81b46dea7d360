/**
 * The manager wire protocol after the handshake: every frame is one V8
 * serialised array, data only. Requests are [op, callId, ...]; replies are
 * [callId, status, value]. Referents are named by number; a proxy's token
 * says which manager (by address and a random server id) and which referent.
 */

/** Where a manager listens: a Unix socket path (local managers) or a TCP host and port. */
export type ManagerAddress = string | { host: string; port: number };

/** What a proxy needs to reach its referent; plain data, so it can travel anywhere. */
export interface ProxyToken {
  address: ManagerAddress;
  /** Random id of the manager server process, so that a server recognises its own proxies. */
  serverId: string;
  typeid: string;
  id: number;
  exposed: string[];
  /** Which library proxy class to use beyond the generated methods (see PROXYTYPE); absent: the generic one. */
  proxytype?: string;
}

/**
 * Static key on a library referent class naming the proxy class its proxies
 * get (a Pool's proxy sends task functions by reference before calling).
 */
export const PROXYTYPE: unique symbol = Symbol('multiproc.managerProxytype') as never;

/** Method the server calls on a referent once it is freed or the manager stops (a Pool terminates its workers). */
export const RELEASE_REFERENT: unique symbol = Symbol('multiproc.releaseReferent') as never;

/**
 * Set on an error a referent passes on from elsewhere (a Pool task's), so
 * that it travels with its class by reference, as a Pool's errors do,
 * rather than as a RemoteError.
 */
export const RELAY_ERROR: unique symbol = Symbol('multiproc.relayError') as never;

/** lane: a local client offers a shared-memory mailbox [name, nonce] (lane-layout.ts); the reply is true or why not. */
export const Op = { call: 1, create: 2, incref: 3, decref: 4, hello: 5, shutdown: 6, count: 7, lane: 8 } as const;

export const Status = { ok: 0, error: 1, token: 2 } as const;

/** An error raised in the manager, as it travels back to the caller. */
export interface ErrorReport {
  name: string;
  message: string;
  stack: string;
  /** Set for a relayed error (RELAY_ERROR): the error in the Pool's wire format, class by reference. */
  wire?: import('../transfer/error-transfer.ts').ErrorWire;
}

/** The kind under which proxies register as shareables. */
export const PROXY_KIND = 'multiproc.managerProxy';

/** For logs and error messages. */
export function formatAddress(address: ManagerAddress): string {
  if (typeof address !== 'string') return `${address.host}:${address.port}`;
  return address.startsWith('\0') ? `@${address.slice(1)}` : address;
}
