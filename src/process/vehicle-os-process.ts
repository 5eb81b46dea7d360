/**
 * The OS-process vehicle, parent side: a child is a fresh Node process
 * running child-main with the parent's loader flags, linked to the parent by
 * a socket on its fd 3. Booting Node (and tsx) takes 100-400 ms, so idle
 * "spare" children are booted ahead of time; a spare has loaded only Node,
 * the library and any forkserver preload modules, so handing it a payload is
 * indistinguishable from booting a new one, except that it is quicker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import { ControlChannel } from '../channels/control-channel.ts';
import { trackerEnvironment } from '../platform/resource-tracker.ts';
import { watchTeardownProxies, whenTeardownProxiesGone } from '../platform/teardown-proxies.ts';
import type { LaunchPayload } from './launch-payload.ts';
import { FAST_FORK_FLAGS, loaderHooksOnThread, programIsForkReady, registerAfterFork } from './fork-support.ts';
import type { Popen, Vehicle, VehicleOptions } from './popen.ts';
import { onProcessExit, ExitOrder } from '../platform/exit-hooks.ts';
import { MultiprocError } from '../errors.ts';

const CHILD_MAIN = fileURLToPath(new URL(`../child/child-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

/**
 * Compiled, the library needs no module loader, but under one whose hooks run
 * on a thread (tsx's --import) each of its ~130 files would go through the
 * hooks again in every booted child and zygote (~100 ms). Imported ahead of
 * the loader's own --import, it is loaded directly (the entry's and the
 * program's later imports of it find it loaded). From source (.ts), it needs the loader.
 */
const LIBRARY_AHEAD =
  extname(fileURLToPath(import.meta.url)) === '.js' ? ['--import', new URL('../index.js', import.meta.url).href] : [];

/**
 * Flags that make sense once per program, not once per child (Python filters
 * its own likewise). Those `multiproc PROGRAM` adds so that forks are cheap
 * (`--no-lazy`, large pages) would only slow a booted child's start.
 */
export function childExecArgv(): string[] {
  const kept: string[] = [];
  const fastFork: readonly string[] = FAST_FORK_FLAGS;
  const argv = programIsForkReady() ? process.execArgv.filter((flag) => !fastFork.includes(flag)) : process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (/^(-e|-p|--eval|--print|--input-type)$/.test(flag) || (flag === '--import' && argv[i + 1] === LIBRARY_AHEAD[1])) {
      i++;
      continue;
    }
    if (/^--(test|watch|inspect|debug|eval|print|input-type)/.test(flag) || flag === '-') continue;
    kept.push(flag);
  }
  return kept;
}

/** Reaping is asynchronous in Node; a zombie or a vanished pid has exited. */
export function pidHasExited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

class OsProcessChild implements Popen {
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  readonly channel: ControlChannel;
  private exitedFlag = false;

  constructor(readonly child: ChildProcess) {
    this.channel = new ControlChannel(child.stdio[3] as Socket, { expectGreeting: true });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        this.exitCode = signal ? -signalNumber(signal) : (code ?? 0);
        this.channel.close();
        resolve(this.exitCode);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  hasExited(): boolean {
    return this.exitedFlag || pidHasExited(this.pid);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.exitedFlag) this.child.kill(signal);
  }

  keepParentAlive(keep: boolean): void {
    if (keep) {
      this.child.ref();
    } else {
      this.child.unref();
    }
    // The control socket never keeps the parent alive: the child handle decides.
    this.channel.unref();
  }

  close(): void {
    this.channel.close();
  }
}

/** The Node flags of a booted child or a zygote: the program's, with the library ahead of a loader (see LIBRARY_AHEAD). */
export function bootExecArgv(): string[] {
  const flags = childExecArgv();
  return loaderHooksOnThread() ? [...LIBRARY_AHEAD, ...flags] : flags;
}

const REFILL_DELAY_MS = 50;
const spares = new Map<string, OsProcessChild[]>();
// A child forked from the program: the spares are the program's.
registerAfterFork(() => spares.clear());
const launches = new Map<string, number>();
/** Refills scheduled but not yet done; whenSparesReady() runs them at once. */
const pendingRefills = new Set<() => void>();

function bootChild(preload: string[]): OsProcessChild {
  watchTeardownProxies();
  const child = spawn(process.execPath, [...bootExecArgv(), CHILD_MAIN], {
    stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    env: {
      ...process.env,
      // Children join the program's tracker, so the segments they create
      // are cleaned up with the whole program, not with them.
      ...trackerEnvironment(),
      MULTIPROC_PARENT_PID: String(process.pid),
      MULTIPROC_PRELOAD: JSON.stringify(preload),
    },
  });
  if (child.pid === undefined) {
    throw new MultiprocError('ERR_MP_START_FAILED', `could not start a child process: ${process.execPath} did not start`);
  }
  const popen = new OsProcessChild(child);
  popen.keepParentAlive(false);
  return popen;
}

function takeSpare(key: string): OsProcessChild | undefined {
  const idle = spares.get(key) ?? [];
  while (idle.length > 0) {
    const spare = idle.shift()!;
    if (!spare.hasExited()) return spare;
  }
  return undefined;
}

function refill(key: string, options: VehicleOptions): void {
  const idle = spares.get(key) ?? [];
  spares.set(key, idle);
  while (idle.length < options.spares) idle.push(bootChild(options.preload));
}

export const osProcessVehicle: Vehicle = {
  launch(payload: LaunchPayload, options: VehicleOptions): Popen {
    const key = JSON.stringify([childExecArgv(), options.preload]);
    const child = takeSpare(key) ?? bootChild(options.preload);
    child.channel.send(payload);
    const launched = (launches.get(key) ?? 0) + 1;
    launches.set(key, launched);
    // A program that starts one child should not pay for a spare it never uses.
    if (launched > 1 || options.preload.length > 0 || options.spares > 1) {
      // Booting a spare takes a core for a few hundred ms; a short-lived
      // child should not have to share its core with that, so wait a little.
      let done = false;
      const refillOnce = () => {
        pendingRefills.delete(refillOnce);
        if (!done) refill(key, options);
        done = true;
      };
      pendingRefills.add(refillOnce);
      setTimeout(refillOnce, REFILL_DELAY_MS).unref();
      // spawn() blocks for a few ms; done straight from the exit, it would
      // delay join() by that much, so it waits until join()'s callers have run.
      void child.exited.then(() => setImmediate(refillOnce).unref());
    }
    return child;
  },
};

/** Resolves once every idle spare has booted and is waiting for work (for benchmarks and tests). */
export async function whenSparesReady(): Promise<void> {
  for (const refillNow of [...pendingRefills]) refillNow();
  const idle = [...spares.values()].flat();
  // The caller is waiting on them, so they must keep the program alive meanwhile.
  for (const spare of idle) spare.keepParentAlive(true);
  try {
    await Promise.all(idle.map((spare) => spare.channel.greeted));
  } finally {
    for (const spare of idle) spare.keepParentAlive(false);
  }
}

/** Stops idle spares (e.g. before checking for leaked processes); resolves once they and any teardown proxies are reaped. */
export function stopSpareChildren(): Promise<void> {
  const stopping: Promise<number>[] = [];
  for (const idle of spares.values()) {
    for (const spare of idle.splice(0)) {
      // Whoever awaits the result must be kept alive until the reaping.
      spare.keepParentAlive(true);
      spare.signal('SIGKILL');
      stopping.push(spare.exited);
    }
  }
  return Promise.all(stopping).then(whenTeardownProxiesGone);
}

// Spares and daemon children must not outlive the program. 'exit' handlers
// run synchronously, and a signal can be sent synchronously.
onProcessExit(ExitOrder.stopSpares, () => {
  void stopSpareChildren();
});
