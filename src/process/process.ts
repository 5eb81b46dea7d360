/**
 * Process: a child process running a target function, in the shape of
 * Python's multiprocessing.Process. This is the parent's handle; the child's
 * side of a start lives in child/child-bootstrap.ts. What a Process holds is
 * in process-internals.ts, the children it started in children.ts, the
 * current and parent Process objects in current-process.ts.
 */
import { currentState, nextChildIdentity } from './process-identity.ts';
import { referenceFunction, type FunctionReference } from '../transfer/function-reference.ts';
import { encodeForTransfer } from '../transfer/shareable.ts';
import type { LaunchPayload, StartMethodName } from './launch-payload.ts';
import type { Popen } from './popen.ts';
import { attach, internalsOf, provideProcessClass, type Internals } from './process-internals.ts';
import { adoptCurrentProcess } from './current-process.ts';
import { clearInheritedExitCode, enterChildLife, reportAndExit } from './child-life.ts';
import type { ControlChannel } from '../channels/control-channel.ts';
import { contextMethods, forgetChild, startMethodOf, trackChild } from './children.ts';
import { adoptProcessAuthkey, processAuthkey } from './process-authkey.ts';
import { parseWait, type Wait } from '../checks.ts';
import { settleWithin } from '../sync/settle-within.ts';
import { pidAlive } from '../platform/owner-liveness.ts';
import { sentinelOf, type ProcessSentinel } from './process-sentinel.ts';
import { InvalidStateError } from '../errors.ts';

/** Options for `new Process(...)`. */
export interface ProcessOptions<Args extends unknown[] = unknown[]> {
  /** The function the child runs; a module-level function travels by reference. */
  target?: (...args: Args) => unknown;
  /** Arguments for the target: anything structured clone accepts, plus multiproc's shareable objects. */
  args?: Args;
  /** Defaults to Process-N (Process-N:M in a child). */
  name?: string;
  /** Daemon children are terminated when their parent exits; defaults to the current process's flag. */
  daemon?: boolean;
}

/** Authkeys set on child handles before start(). */
const handleAuthkeys = new WeakMap<Process, Buffer>();

/** A child process that runs `target(...args)`, or an overridden `run()`. */
export class Process<Args extends unknown[] = unknown[]> {
  constructor(options: ProcessOptions<Args> = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`Process options must be an object, got ${typeof options}`);
    }
    const { target, args = [] as unknown as Args, name, daemon } = options;
    if (target !== undefined && target !== null && typeof target !== 'function') {
      throw new TypeError(`Process option 'target' must be a function, got ${typeof target}`);
    }
    if (!Array.isArray(args)) throw new TypeError(`Process option 'args' must be an array, got ${typeof args}`);
    if (name !== undefined && typeof name !== 'string') {
      throw new TypeError(`Process option 'name' must be a string, got ${typeof name}`);
    }
    if (daemon !== undefined && typeof daemon !== 'boolean') {
      throw new TypeError(`Process option 'daemon' must be a boolean, got ${typeof daemon}`);
    }
    const identity = nextChildIdentity();
    attach(this, {
      role: 'handle',
      name: name ?? `Process-${identity.join(':')}`,
      identity,
      daemon: daemon ?? currentState.daemon,
      target: target ?? null,
      args,
      creatorPid: process.pid,
      popen: null,
      closed: false,
      pid: null,
    });
  }

  /** What the child runs; override in a subclass, or pass `target`. */
  run(): unknown {
    const { target, args } = internalsOf(this);
    return target ? target(...args) : undefined;
  }

  /** Starts the child with the start method of this Process's context (or the default). */
  start(): void {
    const self = this.checkOpen();
    if (self.role !== 'handle') throw new InvalidStateError('cannot start a process that is not a child handle');
    if (self.popen) throw new InvalidStateError('cannot start a process twice');
    if (self.creatorPid !== process.pid) {
      throw new InvalidStateError('can only start a process object created by the current process');
    }
    if (currentState.daemon) throw new InvalidStateError('daemonic processes are not allowed to have children');
    if (currentState.bootstrapping) {
      throw new InvalidStateError(
        'An attempt has been made to start a new process before the current process has finished ' +
          "importing its main module. The child imports the target's module again, so that module's " +
          'top-level code must not start processes. Guard the entry point:\n\n' +
          '    if (isMainModule(import.meta)) {\n        new Process({ target }).start();\n    }\n',
      );
    }
    const method = startMethodOf(this.constructor);
    // The authkey is made on first use: made here, a forked child holds the
    // parent's, not one of its own that the parent never sees.
    const parent = { pid: process.pid, name: currentState.name, authkey: this.authkey };
    self.popen = method.launch({
      payload: () => this.buildPayload(self, method.name),
      runHere: (openChannel) => this.runInForkedChild(self, parent, openChannel),
    });
    self.popen.keepParentAlive(!self.daemon);
    trackChild(this, self.popen);
  }

  /** In a child forked from the program: this object is the child's copy; become it and run. */
  private async runInForkedChild(
    self: Internals,
    parent: { pid: number; name: string; authkey: Buffer },
    openChannel: () => ControlChannel,
  ): Promise<void> {
    const identity = { name: self.name, identity: self.identity, daemon: self.daemon, target: self.target, args: self.args };
    enterChildLife(
      { ...identity, parentPid: parent.pid, parentName: parent.name, authkey: parent.authkey },
      openChannel,
    );
    currentState.bootstrapping = false;
    adoptCurrentProcess(this, identity.target, identity.args);
    clearInheritedExitCode();
    try {
      await this.run();
    } catch (error) {
      reportAndExit(error);
    }
  }

  private buildPayload(self: Internals, startMethod: StartMethodName): LaunchPayload {
    const processClass = userSubclass(this.constructor);
    const fields: Record<string, unknown> = {};
    const functions: FunctionReference[] = [];
    for (const key of Object.keys(this)) {
      fields[key] = encodeForTransfer((this as Record<string, unknown>)[key], `Process field '${key}'`, functions);
    }
    return {
      name: self.name,
      identity: self.identity,
      daemon: self.daemon,
      parentPid: process.pid,
      parentName: currentState.name,
      startMethod,
      cwd: process.cwd(),
      env: { ...process.env },
      processClass: processClass ? referenceFunction(processClass, 'Process subclass') : null,
      fields,
      target: self.target ? referenceFunction(self.target, 'target') : null,
      args: self.args.map((arg, i) => encodeForTransfer(arg, `Process argument args[${i}]`, functions)),
      functions,
      globals: null,
      authkey: this.authkey,
    };
  }

  /**
   * Resolves once the child has exited, or after the wait's timeout: a
   * number of ms or `{ timeout, block, signal }` (negative or `block: false`:
   * at once; omitted or null: no limit). It never rejects on timeout, so check
   * `exitCode` afterwards; an aborted `signal` rejects with its reason. The
   * blocking form is `waitSync([p], timeout)`.
   */
  async join(wait?: Wait): Promise<void> {
    const self = this.checkOpen();
    const parsed = parseWait(wait, 'join');
    if (self.role === 'current') throw new InvalidStateError('cannot join current process');
    if (self.role === 'parent') return void (await settleWithin(self.parentLink!.gone(), parsed));
    if (self.creatorPid !== process.pid) throw new InvalidStateError('can only join a child process');
    if (!self.popen) throw new InvalidStateError('can only join a started process');
    // A daemon child does not keep the program alive, but a pending join must.
    self.popen.keepParentAlive(true);
    try {
      await settleWithin(self.popen.exited, parsed);
    } finally {
      self.popen.keepParentAlive(!self.daemon);
    }
  }

  /** True from start() until the child has exited. */
  isAlive(): boolean {
    const self = this.checkOpen();
    if (self.role === 'current') return true;
    if (self.role === 'parent') return pidAlive(self.pid!);
    if (self.creatorPid !== process.pid) throw new InvalidStateError('can only test a child process');
    return self.popen !== null && !self.popen.hasExited();
  }

  /** Sends SIGTERM; the exit code becomes -15. */
  terminate(): void {
    this.startedPopen('terminate').signal('SIGTERM');
  }

  /** Sends SIGKILL; the exit code becomes -9. */
  kill(): void {
    this.startedPopen('kill').signal('SIGKILL');
  }

  /** Releases the handle's resources; throws while the child runs. Afterwards most members throw. */
  close(): void {
    const self = internalsOf(this);
    if (self.closed) return;
    if (self.popen) {
      if (self.popen.exitCode === null) {
        throw new InvalidStateError(
          'Cannot close a process while it is still running. You should first call join() or terminate().',
        );
      }
      self.popen.close();
    }
    forgetChild(this);
    self.closed = true;
  }

  /** The OS process id; null before start. */
  get pid(): number | null {
    const self = this.checkOpen();
    return self.role === 'handle' ? (self.popen?.pid ?? null) : self.pid;
  }

  /** Python's sentinel: the same object each time, which `wait()` reports ready once the process has ended. ProcessNotStartedError before start(). */
  get sentinel(): ProcessSentinel {
    const self = this.checkOpen();
    return sentinelOf(this, self.role === 'parent' ? { pid: self.pid!, gone: self.parentLink!.gone() } : self.popen);
  }

  /** null until the child has been reaped; then its exit status, or -N after signal N. */
  get exitCode(): number | null {
    const self = this.checkOpen();
    return self.popen?.exitCode ?? null;
  }

  /** The process's name, used in error reports and by default made from its identity. */
  get name(): string {
    return internalsOf(this).name;
  }

  set name(value: string) {
    if (typeof value !== 'string') throw new TypeError(`name must be a string, got ${typeof value}`);
    internalsOf(this).name = value;
  }

  /** Whether the child is terminated when its parent exits. Only settable before start(). */
  get daemon(): boolean {
    return internalsOf(this).daemon;
  }

  set daemon(value: boolean) {
    if (typeof value !== 'boolean') throw new TypeError(`daemon must be a boolean, got ${typeof value}`);
    const self = internalsOf(this);
    if (self.popen || self.role !== 'handle') throw new InvalidStateError('process has already started');
    self.daemon = value;
  }

  /**
   * The key managers use to authenticate their peers (Python's authkey): 32
   * random bytes in the main process, inherited by children, settable on a
   * child handle before start() and on the current process.
   */
  get authkey(): Buffer {
    const self = internalsOf(this);
    const own = self.role === 'handle' ? handleAuthkeys.get(this) : undefined;
    return Buffer.from(own ?? processAuthkey());
  }

  set authkey(value: Uint8Array) {
    if (!(value instanceof Uint8Array)) throw new TypeError(`authkey must be a Buffer or Uint8Array, got ${typeof value}`);
    const self = internalsOf(this);
    if (self.role === 'parent') throw new InvalidStateError("cannot set the parent process's authkey");
    if (self.role === 'current') {
      adoptProcessAuthkey(value);
    } else {
      if (self.popen) throw new InvalidStateError('process has already started');
      handleAuthkeys.set(this, Buffer.from(value));
    }
  }

  toString(): string {
    const self = internalsOf(this);
    const status = self.closed
      ? 'closed'
      : self.role === 'current'
        ? 'started'
        : !self.popen
          ? 'initial'
          : self.popen.exitCode === null
            ? 'started'
            : `stopped exitcode=${self.popen.exitCode}`;
    return `<Process name='${self.name}' ${status}${self.daemon ? ' daemon' : ''}>`;
  }

  private checkOpen(): Internals {
    const self = internalsOf(this);
    if (self.closed) throw new InvalidStateError('process object is closed');
    return self;
  }

  private startedPopen(operation: string): Popen {
    const self = this.checkOpen();
    if (!self.popen) throw new InvalidStateError(`cannot ${operation} a process that has not been started`);
    return self.popen;
  }
}

/** The user's own Process subclass, skipping classes made by contexts; null for plain Process. */
function userSubclass(constructor: Function): Function | null {
  for (let c: Function = constructor; c && c !== Process; c = Object.getPrototypeOf(c)) {
    if (!contextMethods.has(c)) return c;
  }
  return null;
}

/** Makes a Process subclass whose start() uses `method`, for getContext(). */
export function processClassFor(method: StartMethodName): typeof Process {
  const bound = class extends Process {};
  Object.defineProperty(bound, 'name', { value: 'Process' });
  contextMethods.set(bound, method);
  return bound as unknown as typeof Process;
}

provideProcessClass(Process);
