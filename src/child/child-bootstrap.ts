/**
 * The child's side of Process.start(), whatever the start method: take on
 * the identity the parent chose, rebuild the Process object and its target,
 * run it, and report failure as Python does ("Process NAME:" and the error
 * on stderr, exit code 1).
 */
import { inspect } from 'node:util';
import { adoptChildState, currentState } from '../process/process-identity.ts';
import { Process } from '../process/process.ts';
import { adoptCurrentProcess, adoptParentProcess } from '../process/current-process.ts';
import { adoptProcessAuthkey } from '../process/process-authkey.ts';
import type { ControlChannel } from '../channels/control-channel.ts';
import { importDefiningModule, resolveFunction } from '../transfer/function-resolver.ts';
import { decodeFromTransfer } from '../transfer/shareable.ts';
import { deferMissingClasses } from '../transfer/class-reference.ts';
import type { LaunchPayload } from '../process/launch-payload.ts';
import { exitImmediately } from '../platform/native.ts';

function reportAndExit(error: unknown): never {
  process.stderr.write(`Process ${currentState.name}:\n${inspect(error)}\n`);
  process.exit(1);
}

function applyEnvironment(payload: LaunchPayload): void {
  for (const key of Object.keys(process.env)) if (!(key in payload.env)) delete process.env[key];
  Object.assign(process.env, payload.env);
  if (process.cwd() !== payload.cwd) process.chdir(payload.cwd);
}

function applyGlobals(globals: Record<string, unknown> | null): void {
  if (globals) Object.assign(globalThis, globals);
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
 * Runs the Process described by `payload` in this child. `channel` is the
 * control channel to the parent: it becomes parentProcess()'s, where library
 * protocols (the pool's workers) find it through controlChannel().
 */
export async function runChild(payload: LaunchPayload, channel: ControlChannel): Promise<void> {
  adoptChildState({
    name: payload.name,
    identity: payload.identity,
    daemon: payload.daemon,
    parentPid: payload.parentPid,
    parentName: payload.parentName,
  });
  adoptParentProcess(payload.parentPid, payload.parentName, channel);
  adoptProcessAuthkey(payload.authkey);
  applyEnvironment(payload);
  exitWithoutTeardown();
  process.on('uncaughtException', reportAndExit);
  process.on('unhandledRejection', reportAndExit);
  try {
    const settleClasses = deferMissingClasses(); // issue 11: the snapshot's classes come with the imports below
    const globals = payload.globals ? (decodeFromTransfer(payload.globals) as Record<string, unknown>) : null;
    // Set before the import for code that reads them at import time, and
    // again after it, because the snapshot is as of start(), not as of import.
    applyGlobals(globals);
    const classModule = payload.processClass ? await importDefiningModule(payload.processClass) : null;
    const targetModule = payload.target ? await importDefiningModule(payload.target) : null;
    currentState.bootstrapping = false;
    await settleClasses();
    applyGlobals(globals);
    const processClass = payload.processClass
      ? resolveFunction(payload.processClass, classModule, 'Process subclass')
      : Process;
    const target = payload.target ? resolveFunction(payload.target, targetModule, 'target') : null;
    const instance = Object.create(processClass.prototype) as Process;
    Object.assign(instance, decodeFromTransfer(payload.fields));
    adoptCurrentProcess(instance, target, decodeFromTransfer(payload.args) as unknown[]);
    await instance.run();
  } catch (error) {
    reportAndExit(error);
  }
}
