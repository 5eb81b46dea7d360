/**
 * Node's own functions come from its code cache and are compiled on their
 * first call, whatever --no-lazy says. One that a forking process (a
 * fork-ready program, or the zygote) never ran is compiled again in every
 * child that runs it, and each compilation writes its bytecode into pages
 * the child must first copy: ~10% of a forked child's page faults. Running
 * once, before forking, the few that a forked child's own path runs leaves
 * their bytecode in every child. The list was found with V8's
 * --log-function-events (functions compiled once per child); it only
 * exercises Node, so a Node that needs other functions just compiles those
 * in the child, as before.
 */
import { EventEmitter } from 'node:events';

const WARM_UP_EVENT = 'multiproc:warm-up';

function nothing(): void {}

/** The synchronous part: timers' immediates, process's exit fields and listeners, events' once, Buffer.concat. */
function warmUpSynchronously(): void {
  clearImmediate(setImmediate(nothing));
  void process.exitCode;
  void (process as unknown as { _exiting: boolean })._exiting;
  // Any listener removed from process runs Node's check for a signal listener.
  process.on(WARM_UP_EVENT as 'exit', nothing);
  process.removeListener(WARM_UP_EVENT as 'exit', nothing);
  const emitter = new EventEmitter();
  emitter.once(WARM_UP_EVENT, nothing);
  emitter.emit(WARM_UP_EVENT);
  Buffer.concat([Buffer.alloc(1)]);
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
