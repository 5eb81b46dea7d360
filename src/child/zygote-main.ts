/**
 * The forkserver zygote (see src/process/zygote.ts for the program side).
 * It boots fork-ready, registers the shareable kinds, imports the program's
 * main module and the preload modules, then serves one request per start():
 * it imports the target's module (so the child finds it loaded), forks,
 * replies with the child's pid, and later reports the child's exit code.
 * The child drops the zygote's sockets and runs the target as any child
 * does (child-bootstrap.ts).
 */
import { Socket } from 'node:net';
import { inspect } from 'node:util';
import { ControlChannel } from '../channels/control-channel.ts';
import { runChild } from './child-bootstrap.ts';
import { adoptForkedIdentity } from '../process/forked-identity.ts';
import { warmUpInspector } from '../transfer/inspector-session.ts';
import { importDefiningModule, preloadModule, refuseNewImports, resolveFunction } from '../transfer/function-resolver.ts';
import { findFunction } from '../transfer/function-lookup.ts';
import type { LaunchPayload } from '../process/launch-payload.ts';
import { currentState } from '../process/process-identity.ts';
import { closeFd, forkProcess, onLoopIdle, receiveMessage, requestsSettled, sendMessage, watchExit } from '../process/fork-native.ts';
import { exitImmediately, setParentDeathSignal } from '../platform/native.ts';
import { CANARY_TIMEOUT_MS, runCanaryChecks } from './fork-canary.ts';
import { loaderHooksOnThread, NEW_IMPORT_REFUSAL } from '../process/fork-support.ts';
import { watchTeardownProxies } from '../platform/teardown-proxies.ts';
import '../shareable-kinds.ts';

const SIGKILL = 9;
/** Carries each child's channel fd from the program and the child's pid back (see zygote.ts). */
const FD_SOCKET = 4;
const PROTOCOL_TIMEOUT_MS = 10_000;
/** How long a fork waits for the zygote's own requests in flight to finish (see requestsSettled). */
const SETTLE_BOUND_MS = 2_000;
const programPid = Number(process.env.MULTIPROC_PARENT_PID);
setParentDeathSignal(SIGKILL);
if (process.ppid !== programPid) process.exit(1);
// Imports here are a child's imports: isMainModule() is false, and start() at import time fails as in a child.
currentState.isChild = true;
currentState.bootstrapping = true;
// Children's teardown proxies are the zygote's children, so the zygote reaps them.
watchTeardownProxies();

const channel = new ControlChannel(new Socket({ fd: 3, readable: true, writable: true }));
let isZygote = true;
channel.onClose(() => {
  if (isZygote) process.exit(0);
});

for (const specifier of JSON.parse(process.env.MULTIPROC_PRELOAD ?? '[]') as string[]) {
  try {
    await preloadModule(specifier);
  } catch {
    // The child that needs it imports it again and reports the error as its own, as under spawn.
  }
}
warmUpInspector();
delete process.env.MULTIPROC_PARENT_PID;
delete process.env.MULTIPROC_PRELOAD;

/** Forks the canary child (fork-canary.ts) and waits for it; the reason it failed, or null. */
async function canaryFailure(): Promise<string | null> {
  if (process.env.MULTIPROC_FORK_CANARY === 'fail') return 'forced by MULTIPROC_FORK_CANARY=fail';
  let pid: number;
  try {
    await requestsSettled(SETTLE_BOUND_MS);
    pid = forkProcess(false);
  } catch (error) {
    return String(error);
  }
  if (pid === 0) {
    leaveZygote();
    adoptForkedIdentity(process.pid);
    try {
      await runCanaryChecks();
      exitImmediately(0);
    } catch (error) {
      process.stderr.write(`multiproc: fork canary: ${String(error)}\n`);
      exitImmediately(1);
    }
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      process.kill(pid, 'SIGKILL');
      resolve(`the canary child did not finish within ${CANARY_TIMEOUT_MS} ms`);
    }, CANARY_TIMEOUT_MS);
    watchExit(pid, (code) => {
      clearTimeout(timer);
      if (code !== 0) resolve(`the canary child exited with ${code}`);
      else resolve(null);
    });
  });
}

function reply(answer: { pid: number } | { error: string } | { canary: string }): void {
  sendMessage(FD_SOCKET, Buffer.from(JSON.stringify(answer)), -1, PROTOCOL_TIMEOUT_MS);
}

async function serve(payload: LaunchPayload, canary: string | null): Promise<void> {
  const received = receiveMessage(FD_SOCKET, 1, PROTOCOL_TIMEOUT_MS);
  // Without the child's socket the protocol is out of step: the program replaces a zygote that exits.
  if (received === null || received.fd < 0) process.exit(1);
  const channelFd = received.fd;
  if (canary !== null) {
    closeFd(channelFd);
    return reply({ canary });
  }
  let preparationError: unknown = null;
  try {
    // Loaded and found here, the module and the function are inherited (resolveFunction caches
    // them). Finding a function that is not exported searches the heap through the inspector,
    // which in a forked child can leave V8 waiting on a worker thread the child does not have.
    // A failure is left for the child to meet and report as its own.
    if (payload.processClass) {
      resolveFunction(payload.processClass, await importDefiningModule(payload.processClass), 'Process subclass');
    }
    if (payload.target) resolveFunction(payload.target, await importDefiningModule(payload.target), 'target');
    // Functions inside the arguments likewise: the child finds them by the same lookup.
    for (const reference of payload.functions) findFunction(reference, await importDefiningModule(reference, true), 'Process argument');
  } catch (error) {
    // The child reports it: importing again there could wait forever on a loader thread it lacks.
    preparationError = error;
  }
  await requestsSettled(SETTLE_BOUND_MS);
  let pid: number;
  try {
    pid = forkProcess(false);
  } catch (error) {
    closeFd(channelFd);
    return reply({ error: String(error) });
  }
  if (pid > 0) {
    closeFd(channelFd);
    watchExit(pid, (code) => {
      if (isZygote && code !== null) channel.send({ exited: pid, code });
    }).unref();
    return reply({ pid });
  }
  await becomeChild(payload, channelFd, preparationError);
}

/** In a forked child: drop the zygote's sockets (closing our copies leaves the zygote's open). */
function leaveZygote(): void {
  isZygote = false;
  channel.onMessage(null);
  channel.close();
  closeFd(FD_SOCKET);
}

/** Read once: every child inherits it. */
const LOADER_HOOKS_THREAD = loaderHooksOnThread();

async function becomeChild(payload: LaunchPayload, channelFd: number, preparationError: unknown): Promise<void> {
  leaveZygote();
  if (preparationError !== null) {
    // As runChild reports a failure, without importing anything.
    process.stderr.write(`Process ${payload.name}:\n${inspect(preparationError)}\n`);
    exitImmediately(1);
  }
  // process.pid still holds the zygote's pid, which is now the parent's.
  adoptForkedIdentity(process.pid);
  // Under a loader whose hooks run on their own thread (tsx's --import), an
  // import() the zygote did not do would wait forever for that thread here.
  if (LOADER_HOOKS_THREAD) {
    refuseNewImports(NEW_IMPORT_REFUSAL);
  }
  // The loop's natural end would wait for V8 worker threads this child lacks; exit just before it.
  onLoopIdle(() => process.exit());
  const own = new ControlChannel(new Socket({ fd: channelFd, readable: true, writable: true }));
  own.onClose(() => process.exit(1));
  own.unref();
  await runChild(payload, own);
}

const canary = canaryFailure();
let queue = Promise.resolve();
channel.onMessage((message) => {
  queue = queue.then(async () => serve(message as LaunchPayload, await canary));
});
