/**
 * The Process objects a program did not make with `new Process`: the
 * running process itself (currentProcess()) and, in a child, its parent
 * (parentProcess()). A child's bootstrap installs both.
 */
import { currentState } from './process-identity.ts';
import type { Process } from './process.ts';
import { attach, blankProcess, internalsIfAny, type Internals, type ParentLink } from './process-internals.ts';
import type { ControlChannel } from '../channels/control-channel.ts';

let current: Process | null = null;
let parent: Process | null = null;

/** The Process object for the running process: MainProcess, or the child's own Process. */
export function currentProcess(): Process {
  if (!current) {
    current = blankProcess();
    attach(current, {
      role: 'current',
      name: currentState.name,
      identity: currentState.identity,
      daemon: currentState.daemon,
      target: null,
      args: [],
      creatorPid: process.pid,
      popen: null,
      closed: false,
      pid: process.pid,
    });
  }
  return current;
}

/**
 * In a child, installs its Process object as the current process: one
 * rebuilt from a payload, or, in a child forked from the program, the
 * parent's handle as copied by the fork, whose internals change role.
 */
export function adoptCurrentProcess(instance: Process, target: Function | null, args: unknown[]): void {
  const internals: Internals = {
    role: 'current',
    name: currentState.name,
    identity: currentState.identity,
    daemon: currentState.daemon,
    target,
    args,
    creatorPid: process.pid,
    popen: null,
    closed: false,
    pid: process.pid,
  };
  const inherited = internalsIfAny(instance);
  if (inherited) Object.assign(inherited, internals);
  else attach(instance, internals);
  current = instance;
}

/**
 * In a child, records its parent and the control channel to it, which
 * `openChannel` opens on first use; the parent's join() and isAlive() follow
 * the channel, which closes when the parent dies.
 */
export function adoptParentProcess(pid: number, name: string, openChannel: () => ControlChannel): void {
  let channel: ControlChannel | undefined;
  let gone: Promise<void> | undefined;
  const link: ParentLink = {
    channel: () => (channel ??= openChannel()),
    gone: () => (gone ??= new Promise<void>((resolve) => link.channel().onClose(() => resolve()))),
  };
  parent = blankProcess();
  attach(parent, {
    role: 'parent',
    name,
    identity: [],
    daemon: false,
    target: null,
    args: [],
    creatorPid: pid,
    popen: null,
    closed: false,
    pid,
    parentLink: link,
  });
}

/** The parent's Process object in a child; null in the main process. */
export function parentProcess(): Process | null {
  return parent;
}
