/**
 * The child's side of Process.start() for a child that is sent a launch
 * payload (booted, or forked from the zygote): take on the identity the
 * parent chose (child-life.ts), rebuild the Process object and its target
 * from the payload, and run it.
 */
import { currentState } from '../process/process-identity.ts';
import { Process } from '../process/process.ts';
import { adoptCurrentProcess } from '../process/current-process.ts';
import { clearInheritedExitCode, enterChildLife, reportAndExit } from '../process/child-life.ts';
import type { ControlChannel } from '../channels/control-channel.ts';
import { importDefiningModule, resolveFunction } from '../transfer/function-resolver.ts';
import { decodeFromTransfer } from '../transfer/shareable.ts';
import { deferMissingClasses } from '../transfer/class-reference.ts';
import type { LaunchPayload } from '../process/launch-payload.ts';

function applyEnvironment(payload: LaunchPayload): void {
  const env = payload.env;
  if (env) {
    for (const key of Object.keys(process.env)) if (!(key in env)) delete process.env[key];
    Object.assign(process.env, env);
  }
  if (process.cwd() !== payload.cwd) process.chdir(payload.cwd);
}

function applyGlobals(globals: Record<string, unknown> | null): void {
  if (globals) Object.assign(globalThis, globals);
}

/**
 * Runs the Process described by `payload` in this child. `openChannel`
 * opens the control channel to the parent, on first use: it becomes
 * parentProcess()'s, where library protocols (the pool's workers) find it
 * through controlChannel().
 */
export async function runChild(payload: LaunchPayload, openChannel: () => ControlChannel): Promise<void> {
  enterChildLife(payload, openChannel);
  applyEnvironment(payload);
  try {
    const settleClasses = deferMissingClasses(); // issue 11: the snapshot's classes come with the imports below
    const globals = payload.globals ? (decodeFromTransfer(payload.globals) as Record<string, unknown>) : null;
    // Set before the import for code that reads them at import time, and
    // again after it, because the snapshot is as of start(), not as of import.
    applyGlobals(globals);
    const classModule = payload.processClass ? await importDefiningModule(payload.processClass) : null;
    const targetModule = payload.target ? await importDefiningModule(payload.target) : null;
    // issue 11: functions inside the arguments, found by reference as the target is. Keeping
    // every top-level function of their modules costs only when there are some, and lets a
    // pool worker's later tasks find unexported ones there (see pool-worker.ts).
    for (const reference of payload.functions) await importDefiningModule(reference, true);
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
    clearInheritedExitCode();
    await instance.run();
  } catch (error) {
    reportAndExit(error);
  }
}
