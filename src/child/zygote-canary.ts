/**
 * The zygote's side of its canary (fork-canary.ts holds the checks the
 * canary child runs). The canary is forked first thing, from a zygote that
 * has loaded only this and what it needs (see zygote-entry.ts): it then
 * runs on the other core while the zygote imports the library and the
 * program's modules, instead of after them (~120 ms of every cold start).
 * It checks what a fork can break in Node itself (timers, libuv's thread
 * pool, the garbage collector, optimized code), not in the modules loaded
 * later: those are the same code in a forked child as in a booted one.
 */
import { closeFd, forkAndUnwind, requestsSettled, watchExit } from '../process/fork-native.ts';
import { adoptForkedIdentity } from '../process/forked-identity.ts';
import { exitImmediately } from '../platform/native.ts';
import { CANARY_TIMEOUT_MS, runCanaryChecks } from './fork-canary.ts';

let outcome: Promise<string | null> | null = null;

/**
 * Forks the canary child, once; `zygoteDescriptors` are the zygote's ends of
 * its protocol with the program, which the canary closes. Resolves in the
 * zygote once the canary is forked; the canary child never returns from it
 * (forkAndUnwind).
 */
export async function startCanary(zygoteDescriptors: number[]): Promise<void> {
  if (outcome !== null) return;
  if (process.env.MULTIPROC_FORK_CANARY === 'fail') {
    outcome = Promise.resolve('forced by MULTIPROC_FORK_CANARY=fail');
    return;
  }
  // Forking with a libuv request in flight would lose it in the child.
  await requestsSettled();
  const zygotePid = process.pid;
  let pid: number;
  try {
    pid = forkAndUnwind(() => runCanary(zygotePid, zygoteDescriptors));
  } catch (error) {
    outcome = Promise.resolve(String(error));
    return;
  }
  outcome = new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.kill(pid, 'SIGKILL');
      resolve(`the canary child did not finish within ${CANARY_TIMEOUT_MS} ms`);
    }, CANARY_TIMEOUT_MS);
    watchExit(pid, (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? null : `the canary child exited with ${code}`);
    });
  });
}

/** Why the canary failed, or null once it passed; startCanary() must have been called. */
export function canaryFailure(): Promise<string | null> {
  if (outcome === null) throw new Error('startCanary() was not called');
  return outcome;
}

/** In the canary child, on a clean stack. */
function runCanary(zygotePid: number, zygoteDescriptors: number[]): void {
  for (const fd of zygoteDescriptors) closeFd(fd);
  adoptForkedIdentity(zygotePid);
  runCanaryChecks().then(
    () => exitImmediately(0),
    (error: unknown) => {
      process.stderr.write(`multiproc: fork canary: ${String(error)}\n`);
      exitImmediately(1);
    },
  );
}
