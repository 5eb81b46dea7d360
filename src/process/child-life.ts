/**
 * What every child does before its Process runs, however it was made (booted
 * and sent a payload, forked from a zygote, or forked from the program
 * itself): take on the identity its parent chose, and end as CPython's child
 * does, reporting a failure as "Process NAME:" and the error on stderr, with
 * exit code 1, and skipping Node's teardown.
 */
import { inspect } from 'node:util';
import { adoptChildState, currentState } from './process-identity.ts';
import { adoptParentProcess } from './current-process.ts';
import { adoptProcessAuthkey } from './process-authkey.ts';
import type { ControlChannel } from '../channels/control-channel.ts';
import { exitImmediately } from '../platform/native.ts';

/** Who a child is, as its parent chose. */
export interface ChildIdentity {
  name: string;
  identity: number[];
  daemon: boolean;
  parentPid: number;
  parentName: string;
  authkey: Uint8Array;
}

/** Prints the failure as Python's child does and exits with code 1. */
export function reportAndExit(error: unknown): never {
  process.stderr.write(`Process ${currentState.name}:\n${inspect(error)}\n`);
  process.exit(1);
}

/**
 * Like CPython's child, which calls os._exit() after run(), skip Node's
 * teardown once the 'exit' handlers have run. process.exit() ends in
 * process.reallyExit (the same hook signal-exit patches); a natural end of the
 * event loop is turned into process.exit() when nobody else listens for it.
 */
function exitWithoutTeardown(): void {
  const proc = process as unknown as { reallyExit(code: number): never };
  proc.reallyExit = (code: number) => exitImmediately(code & 0xff);
  process.on('beforeExit', function exitNow() {
    if (process.listenerCount('beforeExit') === 1) process.exit();
  });
}

/**
 * Called just before the target runs. A child's exit code is its target's
 * (0 when it returns, as in Python, unless it sets process.exitCode or calls
 * process.exit()), not one left by code that ran before it: module top
 * levels imported here or in the zygote, or the parent's own as of a real fork.
 */
export function clearInheritedExitCode(): void {
  process.exitCode = undefined;
}

/**
 * Makes this process the child `who`: its identity, parentProcess() (whose
 * control channel `openChannel` opens on first use, where library protocols
 * such as the pool's find it), its authkey, its way of ending and of
 * reporting a failure.
 */
export function enterChildLife(who: ChildIdentity, openChannel: () => ControlChannel): void {
  adoptChildState({
    name: who.name,
    identity: who.identity,
    daemon: who.daemon,
    parentPid: who.parentPid,
    parentName: who.parentName,
  });
  adoptParentProcess(who.parentPid, who.parentName, openChannel);
  adoptProcessAuthkey(who.authkey);
  exitWithoutTeardown();
  process.on('uncaughtException', reportAndExit);
  process.on('unhandledRejection', reportAndExit);
}
