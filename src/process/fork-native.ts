/**
 * Typed access to native/fork.cc: a real fork() of this Node process, exit
 * watching for children libuv did not start, and the Unix-socket calls the
 * forkserver zygote uses to hand a child its control channel. Loaded from
 * the same addon as src/platform/native.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { nativeAddon, packageRoot } from '../platform/native.ts';

/** Keeps the event loop alive (or not) while a watched child runs. */
export interface ExitWatch {
  ref(): void;
  unref(): void;
}

interface ForkAddon {
  forkProcess(cloneParent: boolean): number;
  watchExit(pid: number, callback: (code: number | null) => void): ExitWatch;
  socketPair(): [number, number];
  sendMessage(socket: number, bytes: Uint8Array, fd: number, timeoutMs: number): void;
  receiveMessage(socket: number, maxBytes: number, timeoutMs: number): { bytes: Buffer; fd: number } | null;
  closeFd(fd: number): void;
  onLoopIdle(callback: () => void): void;
  pendingRequests(): number;
  forkAndUnwind(entry: () => void, atFork?: () => void): number;
  execProgram(file: string, args: string[]): never;
  startExitReports(fd: number): void;
  reportExitOf(pid: number): void;
  stopExitReportsInChild(): void;
  serveForkRequests(
    socket: number,
    onRequest: (body: Buffer | null, key: string | null, fd: number) => void,
    onForked: (body: Buffer, fd: number) => void,
    onQuiet: () => void,
  ): void;
  servedRequest(key: string): void;
  allowNativeForks(allowed: boolean): void;
  stopServingForkRequests(): void;
}

const addon = nativeAddon as ForkAddon;

/** native/packed_heap_preload.cc, built beside the addon. */
const PACKED_HEAP_PRELOAD = path.join(packageRoot, 'build', 'Release', 'multiproc_packed_heap.so');

/**
 * The LD_PRELOAD for a Node started fork-ready (the `multiproc` command's
 * program, the zygote): the library that keeps V8's heap pages together,
 * so each fork() copies far fewer page tables, before the entries of
 * `current`. Just `current` when the library is missing, or when the
 * package's path holds a space or colon (LD_PRELOAD's separators).
 */
export function withPackedHeapPreload(current: string | undefined): string | undefined {
  if (/[\s:]/.test(PACKED_HEAP_PRELOAD) || !existsSync(PACKED_HEAP_PRELOAD)) return current;
  return current ? `${PACKED_HEAP_PRELOAD}:${current}` : PACKED_HEAP_PRELOAD;
}

/**
 * fork(): the child's pid in the parent, 0 in the child. With `cloneParent`
 * the child becomes a child of this process's parent (the zygote's case).
 */
export const forkProcess: (cloneParent: boolean) => number = addon.forkProcess;
/** Reaps `pid` (a child libuv did not start) when it exits; code is null if it was not ours to reap. */
export const watchExit: (pid: number, callback: (code: number | null) => void) => ExitWatch = addon.watchExit;
export const socketPair: () => [number, number] = addon.socketPair;
/** A blocking send of all of `bytes`, with `fd` attached to the first unless it is -1; throws ETIMEDOUT after `timeoutMs`. */
export const sendMessage: (socket: number, bytes: Uint8Array, fd: number, timeoutMs: number) => void = addon.sendMessage;
/** One blocking recvmsg; null once the peer has gone; throws ETIMEDOUT after `timeoutMs`. */
export const receiveMessage: (socket: number, maxBytes: number, timeoutMs: number) => { bytes: Buffer; fd: number } | null =
  addon.receiveMessage;
export const closeFd: (fd: number) => void = addon.closeFd;
/**
 * In a forked child: calls back once nothing but this keeps the event loop
 * alive, so that the child exits before Node waits, at the loop's end, for
 * platform worker threads the child does not have (see native/fork.cc).
 */
export const onLoopIdle: (callback: () => void) => void = addon.onLoopIdle;
/**
 * fork() for a program that forks itself: returns the child's pid in the
 * parent; in the child it never returns. The child's inherited JavaScript
 * stack is unwound (no catch or finally runs there) and `entry` is called on
 * a clean stack just before the event loop next polls (see native/fork.cc).
 * `atFork` runs in the child first, still on the inherited stack.
 */
export const forkAndUnwind: (entry: () => void, atFork?: () => void) => number = addon.forkAndUnwind;
/** execv(): replaces this process's program, keeping its pid, environment and descriptors; throws on failure. */
export const execProgram: (file: string, args: string[]) => never = addon.execProgram;
/**
 * In the forkserver zygote: starts a thread that reaps the children named
 * by reportExitOf() and writes each exit to `fd` as two int32 (pid, then the
 * status, or -N after signal N), whatever the event loop is doing.
 */
export const startExitReports: (fd: number) => void = addon.startExitReports;
/** The exit-report thread reaps `pid`, a child of this process, and reports its exit. */
export const reportExitOf: (pid: number) => void = addon.reportExitOf;
/** In a child forked from the zygote: closes its copies of the exit-report descriptors. */
export const stopExitReportsInChild: () => void = addon.stopExitReportsInChild;
/**
 * In the forkserver zygote: reads the program's requests from `socket` (see
 * native/zygote_requests.cc for the frame). A request whose key was served
 * before (servedRequest) is forked natively, without JavaScript, while
 * allowNativeForks(true) holds; onForked(body, fd) then runs in the child.
 * Every other request goes to onRequest(body, key, fd); body is null once
 * the program has gone. onQuiet() runs when requests pause.
 */
export const serveForkRequests: ForkAddon['serveForkRequests'] = addon.serveForkRequests;
/** Requests with `key` (their functions imported and found) may now be forked natively. */
export const servedRequest: (key: string) => void = addon.servedRequest;
/** Whether the zygote may fork natively: not while a spare waits, nor before its canary has passed. */
export const allowNativeForks: (allowed: boolean) => void = addon.allowNativeForks;
/** In a child of the zygote: stops reading the zygote's requests, before the zygote's socket is closed. */
export const stopServingForkRequests: () => void = addon.stopServingForkRequests;
/** libuv requests in flight on this process's loop: fs calls, DNS lookups, stream writes. */
export const pendingRequests: () => number = addon.pendingRequests;

const SETTLE_POLL_MS = 1;
/** How long a fork waits, by default, for the requests in flight to finish. */
const SETTLE_BOUND_MS = 2_000;

/**
 * Resolves once no libuv request is in flight, or after `boundMs`. Forking
 * with one in flight (tsx writing its cache, a user's async read) loses it
 * in the child: the thread that would finish it stays in the parent.
 */
export async function requestsSettled(boundMs = SETTLE_BOUND_MS): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (pendingRequests() > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS));
  }
}
