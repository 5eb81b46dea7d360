/**
 * The forkserver zygote (see src/process/zygote.ts for the program side),
 * once its entry (zygote-entry.ts) has forked the canary. It registers the
 * shareable kinds, imports the program's main module and the preload
 * modules, then serves one request per start():
 * it imports the target's module (so the child finds it loaded), forks,
 * replies with the child's pid, and later reports the child's exit code.
 * Requests are read natively (native/zygote_requests.cc): one whose target
 * was found before is forked there, without JavaScript, so that serving it
 * writes (and copies, the children sharing it) almost none of the zygote's
 * pages; the others come here. The child drops the zygote's sockets and
 * runs the target as any child does (child-bootstrap.ts).
 */
import { Socket } from 'node:net';
import { inspect } from 'node:util';
import { deserialize } from 'node:v8';
import { ControlChannel } from '../channels/control-channel.ts';
import { runChild } from './child-bootstrap.ts';
import { adoptForkedIdentity } from '../process/forked-identity.ts';
import { warmUpInspector } from '../transfer/inspector-session.ts';
import { importDefiningModule, preloadModule, refuseNewImports, resolveFunction } from '../transfer/function-resolver.ts';
import { findFunction, lookupStateVersion } from '../transfer/function-lookup.ts';
import type { LaunchPayload } from '../process/launch-payload.ts';
import { currentState } from '../process/process-identity.ts';
import {
  closeFd,
  allowNativeForks,
  forkProcess,
  onLoopIdle,
  receiveMessage,
  reportExitOf,
  requestsSettled,
  sendMessage,
  serveForkRequests,
  servedRequest,
  socketPair,
  startExitReports,
  stopExitReportsInChild,
  stopServingForkRequests,
} from '../process/fork-native.ts';
import { exitImmediately } from '../platform/native.ts';
import { canaryFailure } from './zygote-canary.ts';
import { CHANNEL_FD, EXIT_REPORTS_FD, FD_SOCKET } from './zygote-descriptors.ts';
import { loaderHooksOnThread, NEW_IMPORT_REFUSAL } from '../process/fork-support.ts';
import { warmUpChildPath } from '../process/child-path-warmup.ts';
import '../shareable-kinds.ts';

const PROTOCOL_TIMEOUT_MS = 10_000;
// Imports here are a child's imports: isMainModule() is false, and start() at import time fails as in a child.
currentState.isChild = true;
currentState.bootstrapping = true;
startExitReports(EXIT_REPORTS_FD);

const channel = new ControlChannel(new Socket({ fd: CHANNEL_FD, readable: true, writable: true }));
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

function reply(answer: { pid: number; spare?: true } | { error: string } | { canary: string }): void {
  sendMessage(FD_SOCKET, Buffer.from(JSON.stringify(answer)), -1, PROTOCOL_TIMEOUT_MS);
}

async function serve(body: Buffer, key: string, channelFd: number, canary: string | null): Promise<void> {
  // Without the child's socket the protocol is out of step: the program replaces a zygote that exits.
  if (channelFd < 0) process.exit(1);
  if (canary !== null) {
    closeFd(channelFd);
    return reply({ canary });
  }
  const payload = deserialize(body) as LaunchPayload;
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
  if (preparationError === null) servedRequest(key);
  if (preparationError === null && handToSpare(body, channelFd)) return;
  await requestsSettled();
  let pid: number;
  try {
    pid = forkProcess(false);
  } catch (error) {
    closeFd(channelFd);
    return reply({ error: String(error) });
  }
  if (pid > 0) {
    closeFd(channelFd);
    reportExitOf(pid);
    return reply({ pid });
  }
  becomeChild();
  if (preparationError !== null) {
    // As runChild reports a failure, without importing anything.
    process.stderr.write(`Process ${payload.name}:\n${inspect(preparationError)}\n`);
    exitImmediately(1);
  }
  await runHandedWork(payload, channelFd);
}

/**
 * A child forked ahead of need, while the zygote is idle, so that a start()
 * pays neither for the fork nor for the child's first copy-on-write faults.
 * It waits, blocked, on its own socket for a child's channel fd and payload.
 * It is used only if the zygote has imported and found nothing since it was
 * forked (lookupStateVersion), since it holds the zygote's state as of then.
 */
interface Spare {
  pid: number;
  /** The zygote's end of the spare's socket; closing it ends an unused spare. */
  socket: number;
  version: number;
}
let spare: Spare | null = null;
/** Bigger payloads go the usual way: one sendmsg hands a spare its work. */
const SPARE_PAYLOAD_LIMIT = 64 * 1024;
const LENGTH_BYTES = 4;

/** The zygote forks natively only while no spare waits (JavaScript hands work to a spare) and once its canary has passed. */
let canaryPassed = false;
function setSpare(next: Spare | null): void {
  spare = next;
  allowNativeForks(next === null && canaryPassed);
}

function discardSpare(): void {
  if (!spare) return;
  closeFd(spare.socket);
  setSpare(null);
}

/** Hands the spare `body`, the payload as the program serialized it. */
function handToSpare(body: Buffer, channelFd: number): boolean {
  if (!spare || spare.version !== lookupStateVersion()) {
    discardSpare();
    return false;
  }
  if (body.length > SPARE_PAYLOAD_LIMIT) return false;
  const message = Buffer.allocUnsafe(LENGTH_BYTES + body.length);
  message.writeUInt32LE(body.length, 0);
  body.copy(message, LENGTH_BYTES);
  const { pid, socket } = spare;
  setSpare(null);
  try {
    sendMessage(socket, message, channelFd, PROTOCOL_TIMEOUT_MS);
  } catch {
    // The spare died meanwhile (its exit is reported as any child's): fork one the usual way.
    return false;
  } finally {
    closeFd(socket);
  }
  closeFd(channelFd);
  reply({ pid, spare: true });
  return true;
}

/** Forks a spare once no request is waiting; later requests find it ready. */
async function forkSpare(): Promise<void> {
  if (spare || !isZygote || requestsWaiting > 0 || SPARES_OFF) return;
  await requestsSettled();
  const [ours, theirs] = socketPair();
  const version = lookupStateVersion();
  let pid: number;
  try {
    pid = forkProcess(false);
  } catch {
    closeFd(ours);
    closeFd(theirs);
    return;
  }
  if (pid > 0) {
    closeFd(theirs);
    setSpare({ pid, socket: ours, version });
    // A spare that is never handed work is not the program's: the program ignores an unknown pid.
    // One that dies waiting is found out when work is handed to it (handToSpare).
    reportExitOf(pid);
    return;
  }
  closeFd(ours);
  becomeChild();
  const handed = awaitWork(theirs);
  if (!handed) exitImmediately(0);
  await runHandedWork(handed.payload, handed.channelFd);
}

/** In a spare: blocks until the zygote hands it work; null if the zygote discarded it. */
function awaitWork(socket: number): { payload: LaunchPayload; channelFd: number } | null {
  const first = receiveMessage(socket, LENGTH_BYTES + SPARE_PAYLOAD_LIMIT, -1);
  if (first === null || first.fd < 0) return null;
  const length = first.bytes.readUInt32LE(0);
  const chunks = [first.bytes.subarray(LENGTH_BYTES)];
  let have = chunks[0].length;
  while (have < length) {
    const more = receiveMessage(socket, length - have, PROTOCOL_TIMEOUT_MS);
    if (more === null) return null;
    chunks.push(more.bytes);
    have += more.bytes.length;
  }
  closeFd(socket);
  return { payload: deserialize(Buffer.concat(chunks)) as LaunchPayload, channelFd: first.fd };
}

/** In a forked child: drop the zygote's sockets (closing our copies leaves the zygote's open). */
function leaveZygote(): void {
  isZygote = false;
  channel.onMessage(null);
  channel.close();
  stopServingForkRequests();
  closeFd(FD_SOCKET);
  stopExitReportsInChild();
}

/** In a forked child, before it has work: drop the zygote's part and take its own identity. */
function becomeChild(): void {
  leaveZygote();
  // process.pid still holds the zygote's pid, which is now the parent's.
  adoptForkedIdentity(process.pid);
  // Under a loader whose hooks run on their own thread (tsx's --import), an
  // import() the zygote did not do would wait forever for that thread here.
  if (loaderHooksOnThread()) {
    refuseNewImports(NEW_IMPORT_REFUSAL);
  }
}

async function runHandedWork(payload: LaunchPayload, channelFd: number): Promise<void> {
  // The loop's natural end would wait for V8 worker threads this child lacks; exit just before it.
  onLoopIdle(() => process.exit());
  // Opened on first use (parentProcess() keeps it): most children never use
  // their channel, and a Socket made in a fresh fork costs ~0.3 ms of copied
  // pages. Nothing is lost by not watching it: the program dying kills the
  // zygote, and this child with it (parent-death signal).
  await runChild(payload, () => ControlChannel.overDescriptor(channelFd));
}

/** MULTIPROC_ZYGOTE_SPARE=0 forks each child on request, as before spares. */
const SPARES_OFF = process.env.MULTIPROC_ZYGOTE_SPARE === '0';
const canary = warmUpChildPath().then(canaryFailure);
let requestsWaiting = 0;
let queue = canary.then(async (failure) => {
  // The greeting the program's prepare() waits for: all is imported and the canary has answered.
  channel.send('ready');
  if (failure !== null) return;
  canaryPassed = true;
  allowNativeForks(spare === null);
  await forkSpare();
});

/** A request the native side left to JavaScript: a new key, a spare waiting, the canary pending. */
function onRequest(body: Buffer | null, key: string | null, channelFd: number): void {
  // The program has gone, or broke the protocol: it replaces a zygote that exits.
  if (body === null || key === null) {
    if (isZygote) process.exit(0);
    return;
  }
  requestsWaiting++;
  queue = queue.then(async () => {
    requestsWaiting--;
    await serve(body, key, channelFd, await canary);
  });
}

/** In a child the native side forked: the same life as one forked here. */
function onForked(body: Buffer, channelFd: number): void {
  becomeChild();
  void runHandedWork(deserialize(body) as LaunchPayload, channelFd);
}

/**
 * Once requests have paused (native/zygote_requests.cc), a spare is forked,
 * after any request still being served. Not between the requests of a
 * burst: there each spare would cost a fork, and the native path forks
 * without one.
 */
function onQuiet(): void {
  queue = queue.then(forkSpare);
}

serveForkRequests(FD_SOCKET, onRequest, onForked, onQuiet);
