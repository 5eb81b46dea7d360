/**
 * The forkserver zygote, program side. A zygote is a Node process started
 * fork-ready (`--single-threaded`: V8 compiles and collects on the main
 * thread, so a forked child lacks no thread it needs) that has imported the
 * library, the program's main module and the forkserver preload modules.
 * Each start() asks it for one child, which it forks with glibc's fork()
 * (whose atfork handlers give the child a working libuv thread pool; a
 * clone(CLONE_PARENT) would skip them, and async fs would then hang). The
 * child is thus the zygote's: the zygote reaps it and its teardown proxy and
 * reports its exit code here; the child dies with the zygote (parent-death
 * signal), which dies with the program, and a zygote that dies is reported
 * here as the SIGKILL of each of its children, so no join() hangs.
 *
 * The request goes over a socket (fd 4) as one frame with the child's own
 * control socket attached (see encodeRequest), and the reply (its pid) comes
 * back on it, read here with a blocking call so that start() returns with a
 * real pid, as Python's forkserver does. The zygote's control channel (fd 3)
 * carries its greeting and shows its death. Exits come back on a third
 * socket (fd 5), written by a thread of the zygote's
 * (native/exit_reports.cc) as (pid, status) records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { serialize } from 'node:v8';
import { MultiprocError } from '../errors.ts';
import { ControlChannel } from '../channels/control-channel.ts';
import { trackerEnvironment } from '../platform/resource-tracker.ts';
import { watchTeardownProxies } from '../platform/teardown-proxies.ts';
import { onProcessExit, ExitOrder } from '../platform/exit-hooks.ts';
import type { LaunchPayload } from './launch-payload.ts';
import type { Popen } from './popen.ts';
import { bootExecArgv, childExecArgv, osProcessVehicle } from './vehicle-os-process.ts';
import { closeFd, receiveMessage, sendMessage, socketPair, withPackedHeapPreload } from './fork-native.ts';
import { ForkedChild } from './forked-child-handle.ts';
import { forkUnsupportedReason, recordCanaryFailure, registerAfterFork, warnForkFallback } from './fork-support.ts';

const ZYGOTE_ENTRY = fileURLToPath(
  new URL(`../child/zygote-entry${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);
/** The first request waits for the zygote to boot and import the program's modules; later ones take a few ms. */
const REPLY_TIMEOUT_MS = 60_000;
const REQUEST_HEADER_BYTES = 8;

const SIGKILL = 9;
/** An exit report: the child's pid and its status (or -N after signal N), two int32. */
const EXIT_RECORD_BYTES = 8;

/** The zygote could not fork this child; the caller boots a fresh Node instead. */
export class ZygoteUnavailable extends MultiprocError {
  constructor(message: string) {
    super('ERR_MP_ZYGOTE_UNAVAILABLE', message);
  }
}

class Zygote {
  private readonly process: ChildProcess;
  private readonly channel: ControlChannel;
  /** Our end of the socket that carries children's channel fds there and their pids back. */
  private readonly fdSocket: number;
  /** Where the zygote reports its children's exits; ref'd while a child keeps the program alive. */
  private readonly exitReports: Socket;
  private exitBytes: Buffer = Buffer.alloc(0);
  dead = false;
  private readonly children = new Map<number, ForkedChild>();
  /** Children that keep the program alive (non-daemon ones); the exit-report socket is ref'd while there are any. */
  private readonly keepingAlive = new Set<ForkedChild>();
  /** The program's environment as the zygote got it, which its children inherit. */
  private readonly environment = { ...process.env };

  /** Settles once the zygote has greeted (it can fork) or has gone; see ready(). */
  private readiness: Promise<void> | null = null;

  constructor(preload: string[]) {
    watchTeardownProxies();
    const [ours, theirs] = socketPair();
    const [exitsOurs, exitsTheirs] = socketPair();
    this.fdSocket = ours;
    try {
      // One platform worker thread, not four: a forked child inherits the
      // task queue's condition variable with the zygote's idle workers counted
      // as waiters, and glibc's pthread_cond_signal then waits forever for
      // workers that do not exist in the child once they sit in both of its
      // waiter groups (seen: a child's heap query, which posts GC jobs, hung
      // in uv_cond_signal). A single waiter is always in one group.
      // --no-lazy: V8 compiles every function of the zygote's modules once,
      // here, instead of each child compiling the ones it calls (~1 ms a child).
      // The zygote's LD_PRELOAD: see withPackedHeapPreload; it leaves the zygote's environment as it loads.
      const preloadList = withPackedHeapPreload(this.environment.LD_PRELOAD);
      const packedHeap = preloadList === undefined ? {} : { LD_PRELOAD: preloadList };
      this.process = spawn(process.execPath, ['--single-threaded', '--v8-pool-size=1', '--no-lazy', ...bootExecArgv(), ZYGOTE_ENTRY], {
        stdio: ['ignore', 'inherit', 'inherit', 'pipe', theirs, exitsTheirs],
        env: {
          ...this.environment,
          ...trackerEnvironment(),
          MULTIPROC_PARENT_PID: String(process.pid),
          MULTIPROC_PRELOAD: JSON.stringify(preload),
          ...packedHeap,
        },
      });
    } finally {
      closeFd(theirs);
      closeFd(exitsTheirs);
    }
    if (this.process.pid === undefined) {
      closeFd(ours);
      closeFd(exitsOurs);
      throw new ZygoteUnavailable(`could not start the forkserver zygote: ${process.execPath} did not start`);
    }
    // The zygote greets once it has imported everything and its canary has answered.
    this.channel = new ControlChannel(this.process.stdio[3] as Socket, { expectGreeting: true });
    this.process.unref();
    this.channel.unref();
    this.channel.onClose(() => this.markDead());
    this.exitReports = new Socket({ fd: exitsOurs, readable: true, writable: false });
    this.exitReports.unref();
    this.exitReports.on('data', (chunk: Buffer) => this.readExits(chunk));
    this.exitReports.on('error', () => {});
    this.exitReports.on('close', () => this.markDead());
    this.process.once('exit', () => this.markDead());
  }

  /**
   * Resolves once the zygote can fork (it has greeted), or once it has gone.
   * The program stays alive meanwhile. A zygote that has not greeted within
   * REPLY_TIMEOUT_MS is out of step and is stopped, as when a first request
   * times out; the next start() then makes a new one.
   */
  ready(): Promise<void> {
    if (!this.readiness) {
      // The bound is also what keeps the program alive meanwhile: the channel is unref'd.
      const bound = setTimeout(() => this.stop(), REPLY_TIMEOUT_MS);
      this.readiness = this.channel.greeted.finally(() => clearTimeout(bound));
    }
    return this.readiness;
  }

  keepAliveFor(child: ForkedChild, keep: boolean): void {
    if (keep) this.keepingAlive.add(child);
    else this.keepingAlive.delete(child);
    if (this.keepingAlive.size > 0) this.exitReports.ref();
    else this.exitReports.unref();
  }

  private readExits(chunk: Buffer): void {
    const bytes = this.exitBytes.length > 0 ? Buffer.concat([this.exitBytes, chunk]) : chunk;
    let at = 0;
    for (; at + EXIT_RECORD_BYTES <= bytes.length; at += EXIT_RECORD_BYTES) {
      const pid = bytes.readInt32LE(at);
      // A spare the zygote discarded was never the program's: its pid is unknown here.
      this.children.get(pid)?.reportExit(bytes.readInt32LE(at + 4));
      this.children.delete(pid);
    }
    this.exitBytes = bytes.subarray(at);
  }

  private markDead(): void {
    if (this.dead) return;
    this.dead = true;
    closeFd(this.fdSocket);
    this.exitReports.destroy();
    // Its children die with it (parent-death signal), unreported.
    for (const child of this.children.values()) child.reportExit(-SIGKILL);
    this.children.clear();
  }

  fork(payload: LaunchPayload): Popen {
    if (this.dead) throw new ZygoteUnavailable('the forkserver zygote has exited');
    const [ours, theirs] = socketPair();
    try {
      // Blocking: the reply below blocks this thread, which a queued write would wait for.
      sendMessage(this.fdSocket, encodeRequest(this.withoutInheritedEnvironment(payload)), theirs, REPLY_TIMEOUT_MS);
      const reply = receiveMessage(this.fdSocket, 256, REPLY_TIMEOUT_MS);
      if (reply === null) throw new ZygoteUnavailable('the forkserver zygote exited before it forked');
      const answer = JSON.parse(reply.bytes.toString('utf8')) as { pid?: number; spare?: boolean; native?: boolean; error?: string; canary?: string };
      if (answer.canary) {
        recordCanaryFailure(answer.canary);
        throw new ZygoteUnavailable(`the fork canary failed: ${answer.canary}`);
      }
      if (!answer.pid) throw new ZygoteUnavailable(`the forkserver zygote could not fork: ${answer.error}`);
      if (answer.spare) childrenFromSpares++;
      if (answer.native) childrenForkedNatively++;
      const child = new ForkedChild(answer.pid, ours, (c, keep) => this.keepAliveFor(c, keep));
      this.children.set(answer.pid, child);
      return child;
    } catch (error) {
      closeFd(ours);
      // A zygote that timed out or failed mid-protocol is out of step: replace it.
      this.stop();
      throw error instanceof ZygoteUnavailable ? error : new ZygoteUnavailable(String(error));
    } finally {
      closeFd(theirs);
    }
  }

  /**
   * The child inherits the zygote's environment: the program's as of the
   * zygote's start (the zygote drops its own MULTIPROC_ entries). Sent only
   * when the program's has changed since, it costs a child no setenv() calls.
   */
  private withoutInheritedEnvironment(payload: LaunchPayload): LaunchPayload {
    const env = payload.env;
    if (!env) return payload;
    const keys = Object.keys(env);
    if (keys.length !== Object.keys(this.environment).length) return payload;
    for (const key of keys) if (env[key] !== this.environment[key]) return payload;
    return { ...payload, env: null };
  }

  /** In a child forked from the program: this zygote is the parent's; drop our copy of its socket. */
  dropInherited(): void {
    this.dead = true;
    closeFd(this.fdSocket);
    this.exitReports.destroy();
    this.children.clear();
  }

  stop(): void {
    if (!this.dead) this.process.kill('SIGKILL');
    this.markDead();
  }

  get pid(): number {
    return this.process.pid!;
  }
}

/**
 * A request to the zygote (native/zygote_requests.cc reads it): two uint32,
 * the key's length and the body's, then the key and the body. The body is
 * the payload; the key names what the zygote must find before it forks, so
 * that a key it has served before is forked without running JavaScript.
 */
function encodeRequest(payload: LaunchPayload): Buffer {
  // Text (the native side hands it to JavaScript as a string), from any value a reference holds (a bound BigInt, say).
  const key = Buffer.from(serialize([payload.processClass, payload.target, payload.functions]).toString('base64'));
  const body = serialize(payload);
  const frame = Buffer.allocUnsafe(REQUEST_HEADER_BYTES + key.length + body.length);
  frame.writeUInt32LE(key.length, 0);
  frame.writeUInt32LE(body.length, 4);
  key.copy(frame, REQUEST_HEADER_BYTES);
  body.copy(frame, REQUEST_HEADER_BYTES + key.length);
  return frame;
}

const zygotes = new Map<string, Zygote>();
let childrenFromSpares = 0;
let childrenForkedNatively = 0;
registerAfterFork(() => {
  for (const zygote of zygotes.values()) zygote.dropInherited();
  zygotes.clear();
});

/**
 * The program's main module, which the zygote imports as Python's
 * forkserver preloads __main__; none under node --test, whose "main module"
 * would run its tests in the zygote.
 */
function mainModule(): string[] {
  const entry = process.argv[1];
  if (!entry || process.env.NODE_TEST_CONTEXT || process.execArgv.includes('--test')) return [];
  if (!existsSync(entry)) return [];
  return [pathToFileURL(entry).href];
}

/** The running zygote for `preload` (and the main module), started if there is none. */
function zygoteFor(preload: string[]): Zygote {
  const modules = [...new Set([...mainModule(), ...preload])];
  const key = JSON.stringify([childExecArgv(), modules]);
  let zygote = zygotes.get(key);
  if (!zygote || zygote.dead) {
    zygote = new Zygote(modules);
    zygotes.set(key, zygote);
  }
  return zygote;
}

/** Forks a child from the zygote for `preload`, starting the zygote if need be. */
export function forkFromZygote(payload: LaunchPayload, preload: string[]): Popen {
  const reason = forkUnsupportedReason();
  if (reason) throw new ZygoteUnavailable(reason);
  return zygoteFor(preload).fork(payload);
}

/**
 * Starts the zygote for `preload` now, if none runs, and resolves once it
 * can fork, without blocking the event loop as a first start() does while
 * the zygote boots. Where forking is off, or the zygote cannot start or
 * dies while booting, it resolves too: start() then does what it would have
 * done anyway (a new zygote, or a booted child with the one-line warning).
 */
export async function prepareZygote(preload: string[]): Promise<void> {
  if (forkUnsupportedReason()) return;
  let zygote: Zygote;
  try {
    zygote = zygoteFor(preload);
  } catch (error) {
    if (error instanceof ZygoteUnavailable) return;
    throw error;
  }
  await zygote.ready();
}

/**
 * Forks a child from the zygote for `preload`; where forking is off or the
 * zygote fails, says so once and boots a fresh Node instead, kept ahead by
 * `spares` booted spares.
 */
export function forkOrBoot(payload: LaunchPayload, preload: string[], spares: number): Popen {
  try {
    return forkFromZygote(payload, preload);
  } catch (error) {
    if (!(error instanceof ZygoteUnavailable)) throw error;
    warnForkFallback(error.message);
    return osProcessVehicle.launch(payload, { preload, spares });
  }
}

/** How many children so far were a zygote's pre-forked spare (for tests). */
export function zygoteSpareHandoffs(): number {
  return childrenFromSpares;
}

/** How many children so far a zygote forked without running JavaScript (native/zygote_requests.cc; for tests). */
export function zygoteNativeForks(): number {
  return childrenForkedNatively;
}

/** The pids of running zygotes (for tests). */
export function zygotePids(): number[] {
  return [...zygotes.values()].filter((z) => !z.dead).map((z) => z.pid);
}

/** Stops every zygote; the children they forked are the program's own and live on. */
export function stopZygotes(): void {
  for (const zygote of zygotes.values()) zygote.stop();
  zygotes.clear();
}

onProcessExit(ExitOrder.stopSpares, stopZygotes);
