/**
 * The manager server process's side of BaseManager.start(): rebuild the
 * registry from function references (as a Process target travels), listen,
 * tell the parent the bound address, and serve until a shutdown request.
 */
import type { FunctionReference } from '../transfer/function-reference.ts';
import { importDefiningModule, resolveFunction } from '../transfer/function-resolver.ts';
import type { Connection } from '../channels/connection.ts';
import { currentState } from '../process/process-identity.ts';
import { ManagerServer, type ServerTypeEntry } from './server.ts';
import type { ManagerAddress } from './protocol.ts';

/** One registered typeid, as it travels to the server process. */
export interface TransferredTypeEntry {
  typeid: string;
  factory: FunctionReference | null;
  exposed?: readonly string[];
  methodToTypeid?: Readonly<Record<string, string>>;
}

export interface ServerChildConfig {
  address: ManagerAddress;
  authkey: Uint8Array;
  maxFrameBytes: number;
  registry: TransferredTypeEntry[];
}

/** What the server process tells its parent once listening, or why it could not. */
export type StartReport = { address: ManagerAddress } | { error: string };

/** Classes are called with `new`, plain functions without, as Python calls either. */
export function asFactory(fn: Function): (...args: unknown[]) => unknown {
  if (/^class[\s{]/.test(Function.prototype.toString.call(fn))) return (...args) => new (fn as new (...a: unknown[]) => unknown)(...args);
  return fn as (...args: unknown[]) => unknown;
}

export function logToStderr(line: string): void {
  process.stderr.write(`multiproc ${line}\n`);
}

async function resolveRegistry(entries: TransferredTypeEntry[]): Promise<Map<string, ServerTypeEntry>> {
  const registry = new Map<string, ServerTypeEntry>();
  for (const entry of entries) {
    if (!entry.factory) continue;
    const module = await importDefiningModule(entry.factory);
    const factory = asFactory(resolveFunction(entry.factory, module, `factory of typeid '${entry.typeid}'`));
    registry.set(entry.typeid, { factory, exposed: entry.exposed, methodToTypeid: entry.methodToTypeid });
  }
  return registry;
}

/** The target of the manager's server process. */
export async function runManagerServer(config: ServerChildConfig, report: Connection): Promise<void> {
  // A daemon to its parent (never waited for, stopped at its exit), but a
  // manager's Pool starts workers here, as Python's non-daemonic server
  // does; they die with this process (parent-death signal, and the Pool
  // referents are terminated when the server closes).
  currentState.daemon = false;
  let server: ManagerServer;
  try {
    server = new ManagerServer({
      address: config.address,
      authkey: config.authkey,
      maxFrameBytes: config.maxFrameBytes,
      registry: await resolveRegistry(config.registry),
      log: logToStderr,
    });
    const address = await server.listen();
    report.send({ address } satisfies StartReport);
  } catch (error) {
    report.send({ error: (error as Error).message } satisfies StartReport);
    return;
  } finally {
    report.close();
  }
  const closed = server.closed();
  server.onShutdown = () => server.close();
  await closed;
}
