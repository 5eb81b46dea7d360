/**
 * What a Process object holds, kept off the public class: which of the
 * three roles it plays (a child handle in its parent, the current process,
 * or the parent as seen from a child), and the one internal accessor of the
 * control channel, which serves both ends of it.
 */
import type { ControlChannel } from '../channels/control-channel.ts';
import type { Popen } from './popen.ts';
import type { Process } from './process.ts';

/** A child handle (made by `new Process`), the running process itself, or a child's parent. */
export type Role = 'handle' | 'current' | 'parent';

export interface Internals {
  role: Role;
  name: string;
  identity: number[];
  daemon: boolean;
  target: Function | null;
  args: unknown[];
  creatorPid: number;
  /** For role 'handle', once started. */
  popen: Popen | null;
  closed: boolean;
  /** For role 'current' and 'parent'. */
  pid: number | null;
  /** For role 'parent': the link to the parent. */
  parentLink?: ParentLink;
}

/**
 * A child's link to its parent: the control channel, opened on first use
 * (a forked child that never uses it skips a net.Socket's cost), and a
 * promise that settles when the channel closes, which it does when the
 * parent dies.
 */
export interface ParentLink {
  channel(): ControlChannel;
  gone(): Promise<void>;
}

const INTERNALS = Symbol('multiproc.processInternals');

/** The internals of `process`; a subclass that skipped super() has none. */
export function internalsOf(process: Process): Internals {
  const found = (process as unknown as Record<symbol, Internals>)[INTERNALS];
  if (!found) throw new TypeError('Process.__init__ was not called: call super() in the subclass constructor');
  return found;
}

/** The internals of `process`, or undefined if it has none yet. */
export function internalsIfAny(process: Process): Internals | undefined {
  return (process as unknown as Record<symbol, Internals | undefined>)[INTERNALS];
}

/** Gives `process` its internals, once. */
export function attach(process: Process, internals: Internals): void {
  Object.defineProperty(process, INTERNALS, { value: internals, enumerable: false, writable: false });
}

/**
 * The control channel to the other end, for library protocols (the pool's
 * workers); not part of the public API. In the parent, `controlChannel(child)`
 * is its end of a started child's channel; in a child,
 * `controlChannel(parentProcess())` is its end of the channel to the parent.
 */
export function controlChannel(process: Process): ControlChannel {
  const self = internalsOf(process);
  if (self.role === 'parent') return self.parentLink!.channel();
  if (self.role === 'current') throw new Error('the current process has no control channel to itself');
  if (!self.popen) throw new Error('the process has not been started');
  return self.popen.channel;
}

let processClass: { prototype: Process } | null = null;

/**
 * process.ts hands its Process class here when it loads, so that the modules
 * below it that make Process objects (current-process.ts) need not import it:
 * process.ts imports them, and the other way round would be a cycle.
 */
export function provideProcessClass(cls: { prototype: Process }): void {
  processClass = cls;
}

/** A Process object with no internals yet, for attach(). */
export function blankProcess(): Process {
  if (!processClass) throw new Error('multiproc internal error: Process made before process.ts loaded');
  return Object.create(processClass.prototype) as Process;
}
