/**
 * What a child made by fork() must fix before it runs anything: it carries
 * a copy of its parent's state, some of which names the parent.
 */
import { currentThreadId, exitDirectly, setParentDeathSignal } from '../platform/native.ts';
import { dropInheritedProxyWatch } from '../platform/teardown-proxies.ts';
import { setProcessOrigin } from './fork-support.ts';

const SIGKILL = 9;

/**
 * Corrects process.pid (Node read it once, at boot, in the parent), ties the
 * child's life to `expectedParent` and exits if that parent is already gone.
 */
export function adoptForkedIdentity(expectedParent: number): void {
  Object.defineProperty(process, 'pid', {
    // A forked child has one thread, this one, whose id is the process id (no fs call on a start's path).
    value: currentThreadId(),
    writable: false,
    enumerable: true,
    configurable: true,
  });
  setProcessOrigin('forked');
  dropInheritedProxyWatch();
  // Node's own exit would shut down worker threads this child does not have.
  exitDirectly();
  setParentDeathSignal(SIGKILL);
  if (process.ppid !== expectedParent) process.exit(1);
}
