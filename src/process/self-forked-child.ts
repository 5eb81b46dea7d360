/**
 * The child's side of a program forking itself (popen-self-fork.ts for the
 * parent's). The child starts here, on a clean stack, with a copy of all the
 * parent's memory: it stops the parent's business, drops the parent's
 * registries, takes on its own pid and runs its Process.
 */
import { createRequire } from 'node:module';
import { ControlChannel } from '../channels/control-channel.ts';
import { onLoopIdle } from './fork-native.ts';
import { FORK_READY_ENV, loaderHooksOnThread, NEW_IMPORT_REFUSAL, runAfterForkHooks } from './fork-support.ts';
import { refuseNewImports, useInheritedModules } from '../transfer/function-resolver.ts';
import { inheritedNamespace } from './inherited-modules.ts';
import { adoptForkedIdentity } from './forked-identity.ts';
import { stopInheritedActivity, stopInheritedTimers } from './inherited-activity.ts';

let clearAsyncIdStack: (() => void) | undefined;

/**
 * What runs in the child at the fork, on the inherited stack, before it
 * unwinds: that stack leaves the async contexts it entered (start() called
 * in a callback or after an await) without their ends running, and Node
 * checks, when the next callback ends, that none is left. (--expose-internals
 * is a fork-ready flag for this one call.) Looked up in the parent, once: a
 * require in every child cost each a few ms of cold code.
 */
export function inheritedAsyncContextsLeaver(): () => void {
  // Loaded on first use, not at import: only a fork-ready program may load internals.
  clearAsyncIdStack ??= (
    createRequire(import.meta.url)('internal/async_hooks') as { clearAsyncIdStack(): void }
  ).clearAsyncIdStack;
  return clearAsyncIdStack;
}

/**
 * Becomes the child: `channelFd` is its end of the control channel, `run`
 * runs its Process (see Process.start()) and opens the channel if it needs it.
 */
export async function becomeSelfForkedChild(
  parentPid: number,
  channelFd: number,
  run: (openChannel: () => ControlChannel) => Promise<void>,
): Promise<void> {
  stopInheritedActivity();
  runAfterForkHooks();
  adoptForkedIdentity(parentPid);
  useInheritedModules(inheritedNamespace);
  // Under a loader thread (tsx), an import() the parent did not do would wait forever here.
  if (loaderHooksOnThread()) refuseNewImports(NEW_IMPORT_REFUSAL);
  // Fork-ready too: its own fork children are forks of it.
  process.env[FORK_READY_ENV] = String(process.pid);
  // The loop's natural end would wait for V8 worker threads a forked child lacks; exit just before it.
  onLoopIdle(() => process.exit());
  // Callbacks the parent queued with process.nextTick run before this; stop what they started.
  await new Promise((resolve) => setImmediate(resolve));
  stopInheritedTimers();
  // The channel is opened on first use: most children never use it. The
  // parent's death needs no channel: it kills this child (adoptForkedIdentity).
  await run(() => ControlChannel.overDescriptor(channelFd));
}
