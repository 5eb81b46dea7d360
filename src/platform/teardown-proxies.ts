/**
 * The parent's side of the teardown proxies (native/exit_proxy.cc): a child
 * about to _exit clones a proxy that holds its memory, so that the child is
 * reapable at once and join() does not wait ~6 ms for the kernel to free
 * that memory. Proxies are this process's children too (CLONE_PARENT), but
 * libuv does not know them, so this module reaps them: on every SIGCHLD, and
 * at exit (killing any still waiting). It knows them by their name, so it
 * never touches children that Node or the user started.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { reapChild, TEARDOWN_PROXY_NAME } from './native.ts';
import { onProcessExit, ExitOrder } from './exit-hooks.ts';

let watching = false;
let reaped = 0;

/** Our children's pids: every thread's, as the thread that spawned a child is its parent. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ')) {
        if (pid !== '' && pid !== '\n') pids.push(Number(pid));
      }
    } catch {
      // The thread ended while we looked.
    }
  }
  return pids;
}

function isProxy(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd() === TEARDOWN_PROXY_NAME;
  } catch {
    return false;
  }
}

/** Reaps the proxies that have exited; kills and reaps the rest if `all`. Returns how many are left. */
function reapProxies(all = false): number {
  let left = 0;
  for (const pid of childPids()) {
    if (!isProxy(pid)) continue;
    if (all) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already exited: reaped below.
      }
    }
    if (reapChild(pid, all)) reaped++;
    else left++;
  }
  return left;
}

/**
 * How long a SIGCHLD waits before the look for exited proxies. A look reads
 * every child's name, so one per SIGCHLD cost a burst of n children O(n²)
 * reads, and the program ~1.5 ms per child it joined; an exited proxy holds
 * no memory, only its pid, so it may wait a little to be reaped.
 */
const REAP_DELAY_MS = 50;
let reapTimer: NodeJS.Timeout | null = null;
let stopReapingAtExit: (() => void) | null = null;

function reapSoon(): void {
  if (reapTimer || !watching) return;
  reapTimer = setTimeout(() => {
    reapTimer = null;
    reapProxies();
  }, REAP_DELAY_MS).unref();
}

/** Starts reaping this process's teardown proxies; called before the first child is spawned. */
export function watchTeardownProxies(): void {
  if (watching) return;
  watching = true;
  // A SIGCHLD listener does not keep the event loop alive. A forked child
  // keeps the one it inherited (see dropInheritedProxyWatch).
  if (!process.listeners('SIGCHLD').includes(reapSoon)) process.on('SIGCHLD', reapSoon);
  stopReapingAtExit = onProcessExit(ExitOrder.reapProxies, () => reapProxies(true));
}

/**
 * In a forked child: the watch it inherited was for its parent's children,
 * which are not its own. It is dropped (a child that starts children of its
 * own starts its own watch), so that the child neither reads /proc for
 * them at its exit nor runs the parent's pending look.
 */
export function dropInheritedProxyWatch(): void {
  if (!watching) return;
  watching = false;
  stopReapingAtExit?.();
  stopReapingAtExit = null;
  if (reapTimer) clearTimeout(reapTimer);
  reapTimer = null;
}

/** How long to wait for a SIGCHLD before looking again (one may arrive between a look and the wait). */
const RECHECK_MS = 20;

/** Resolves once no teardown proxy of this process is left (tests and benchmarks check for leaked children). */
export async function whenTeardownProxiesGone(): Promise<void> {
  while (reapProxies() > 0) {
    // A ref'd timer (AbortSignal.timeout's is not): the caller is waiting on us.
    const recheck = new AbortController();
    const timer = setTimeout(() => recheck.abort(), RECHECK_MS);
    await once(process, 'SIGCHLD', { signal: recheck.signal }).catch(() => undefined);
    clearTimeout(timer);
  }
}

/** How many teardown proxies this process has reaped (for tests). */
export function teardownProxiesReaped(): number {
  return reaped;
}
