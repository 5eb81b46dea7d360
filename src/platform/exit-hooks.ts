/**
 * The one place that runs code when this process exits. Node runs 'exit'
 * listeners in the order they were added, which for a library means import
 * order; the hooks here run in an explicit order instead, so that children
 * are signalled before the teardown proxies they leave are reaped, and
 * segments are unlinked last. Hooks must be synchronous: 'exit' listeners
 * cannot wait.
 */

/** When an exit hook runs, earliest first. */
export const ExitOrder = {
  /** A pool worker sends the results it finished before a task's process.exit(), before anything is torn down. */
  flushResults: 0,
  /** Signal daemon children, as Python terminates them when their parent exits. */
  signalChildren: 10,
  /** Kill idle spare children and zygotes, which must not outlive the program. */
  stopSpares: 20,
  /** Kill and reap teardown proxies left by children that exited. */
  reapProxies: 30,
  /** Unlink shared-memory segments this process created and still owns. */
  unlinkSegments: 40,
} as const;

interface ExitHook {
  readonly order: number;
  readonly run: () => void;
}

const hooks: ExitHook[] = [];
let installed = false;

function runExitHooks(): void {
  for (const hook of [...hooks].sort((a, b) => a.order - b.order)) {
    try {
      hook.run();
    } catch (error) {
      // One failing hook must not stop the others from cleaning up.
      process.stderr.write(`multiproc: exit hook failed: ${(error as Error)?.stack ?? String(error)}\n`);
    }
  }
}

/** Runs `run` synchronously when this process exits, at position `order` (see ExitOrder); returns what removes it again. */
export function onProcessExit(order: number, run: () => void): () => void {
  const hook = { order, run };
  hooks.push(hook);
  if (!installed) {
    installed = true;
    process.on('exit', runExitHooks);
  }
  return () => {
    const at = hooks.indexOf(hook);
    if (at >= 0) hooks.splice(at, 1);
  };
}
