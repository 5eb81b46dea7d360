/**
 * The program-wide state behind Process.start(): the children started and
 * not yet exited (activeChildren(), and the exit hook that terminates the
 * daemonic ones, as Python does), the default start method, and which
 * start method each context's Process class is bound to.
 */
import type { StartMethodName } from './launch-payload.ts';
import type { Popen, StartMethod } from './popen.ts';
import type { Process } from './process.ts';
import { startMethodFor } from './start-methods.ts';
import { internalsOf } from './process-internals.ts';
import { onProcessExit, ExitOrder } from '../platform/exit-hooks.ts';
import { registerAfterFork } from './fork-support.ts';

/** Context-made Process classes (see processClassFor) and the start method each is bound to. */
export const contextMethods = new WeakMap<Function, StartMethodName>();
let defaultStartMethod: StartMethodName = 'fork';
/** Started children whose process has not exited, with the popen that runs each. */
const children = new Map<Process, Popen>();
// A child forked from the program starts with no children, as in Python.
registerAfterFork(() => children.clear());

/** Sets the start method of Process and of classes not bound to a context (setStartMethod). */
export function setDefaultStartMethod(method: StartMethodName): void {
  defaultStartMethod = method;
}

/** The start method of Process and of classes not bound to a context. */
export function getDefaultStartMethod(): StartMethodName {
  return defaultStartMethod;
}

/** The start method `ProcessClass` (Process, a subclass or a context's class) starts children with. */
export function startMethodOf(ProcessClass: Function): StartMethod {
  return startMethodFor(ProcessClass, contextMethods, defaultStartMethod);
}

/** Records a started child until its process exits (or its handle is closed). */
export function trackChild(child: Process, popen: Popen): void {
  children.set(child, popen);
  void popen.exited.then(() => children.delete(child));
}

/** Stops tracking `child` (its handle was closed). */
export function forgetChild(child: Process): void {
  children.delete(child);
}

/** Children of this process that have started and not yet exited. */
export function activeChildren(): Process[] {
  return [...children.keys()].filter((child) => child.isAlive());
}

// Python terminates daemonic children when their parent exits.
onProcessExit(ExitOrder.signalChildren, () => {
  for (const [child, popen] of children) {
    if (internalsOf(child).daemon && popen.exitCode === null) popen.signal('SIGTERM');
  }
});
