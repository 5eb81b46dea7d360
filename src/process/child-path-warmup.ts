/**
 * Node's own functions come from its code cache and are compiled on their
 * first call, whatever --no-lazy says. One that a forking process (a
 * fork-ready program, or the zygote) never ran is compiled again in every
 * child that runs it, and each compilation writes its bytecode into pages
 * the child must first copy: ~10% of a forked child's page faults. Running
 * once, before forking, the few that a forked child's own path runs leaves
 * their bytecode in every child. A program that makes a Pool at its top
 * level forks before Node has run even its timers or a socket, so each
 * worker compiled ~60 of them (a cold fork-ready Pool(8)'s workers: ~35 page
 * faults each fewer with them warmed). The list was found with V8's
 * --log-function-events (functions compiled once per child); it only
 * exercises Node, so a Node that needs other functions just compiles those
 * in the child, as before. What runs only from the event loop (the tick and
 * immediate queues' processing) cannot be warmed before such a first fork.
 */
import { AsyncResource } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import { closeFd, socketPair } from './fork-native.ts';

const WARM_UP_EVENT = 'multiproc:warm-up';

function nothing(): void {}

/**
 * The synchronous part: timers (immediates, timeouts, intervals), process's
 * exit fields, listeners, stdio streams and kill, events' once, Buffer's
 * concat and 32-bit reads and writes, an async resource's scope (the async
 * context stack), the first promise rejection (which loads Node's
 * unhandled-rejection mode), and a socket made over a descriptor, written
 * to and destroyed (net's handle guessing, the stream states, a write).
 */
function warmUpSynchronously(): void {
  clearImmediate(setImmediate(nothing));
  clearTimeout(setTimeout(nothing, 1 << 30));
  clearInterval(setInterval(nothing, 1 << 30));
  void process.exitCode;
  void (process as unknown as { _exiting: boolean })._exiting;
  // Any listener removed from process runs Node's check for a signal listener.
  process.on(WARM_UP_EVENT as 'exit', nothing);
  process.removeListener(WARM_UP_EVENT as 'exit', nothing);
  void process.stdout;
  void process.stderr;
  process.kill(process.pid, 0);
  const emitter = new EventEmitter();
  emitter.once(WARM_UP_EVENT, nothing);
  emitter.emit(WARM_UP_EVENT);
  const bytes = Buffer.concat([Buffer.alloc(4)]);
  bytes.writeUInt32LE(bytes.readUInt32LE(0), 0);
  const resource = new AsyncResource(WARM_UP_EVENT);
  resource.runInAsyncScope(nothing);
  resource.emitDestroy();
  Promise.reject(new Error('warm-up')).catch(nothing);
  const [ours, theirs] = socketPair();
  const socket = new Socket({ fd: ours, readable: true, writable: true });
  socket.on('error', nothing);
  socket.write(bytes);
  socket.destroy();
  closeFd(theirs);
}

let warmed: Promise<void> | null = null;

/**
 * Runs, once per process, the Node functions a forked child's path needs,
 * an immediate's processing included; resolves once that has run. The
 * synchronous part is done by the time it returns, so a fork right after
 * the call (which cannot wait) gets most of it.
 */
export function warmUpChildPath(): Promise<void> {
  if (warmed === null) {
    warmUpSynchronously();
    // Unref'd: a program with nothing else to do must not wait for it.
    warmed = new Promise((resolve) => setImmediate(resolve).unref());
  }
  return warmed;
}
