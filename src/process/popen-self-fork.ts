/**
 * fork, for real: a program run fork-ready (`multiproc app.ts`) forks
 * itself in start(), as CPython's popen_fork does. The child has everything
 * the parent had at that moment (module-level variables, closures, class
 * instances, shareable objects) without any of it being serialised, and
 * never returns into the code that called start() (see forkAndUnwind). The
 * child's side is self-forked-child.ts.
 */
import type { Popen, StartRequest } from './popen.ts';
import { closeFd, forkAndUnwind, socketPair, watchExit } from './fork-native.ts';
import { ForkedChild } from './forked-child-handle.ts';
import { becomeSelfForkedChild, inheritedAsyncContextsLeaver } from './self-forked-child.ts';
import { watchTeardownProxies } from '../platform/teardown-proxies.ts';
import { warmUpChildPath } from './child-path-warmup.ts';
import { letForksCopyCodeMappings } from './inherited-code-mappings.ts';

/** Forks this program; the child runs `request`'s Process. */
export function forkThisProgram(request: StartRequest): Popen {
  // A forked child's teardown proxy becomes this program's child (see teardown-proxies.ts).
  watchTeardownProxies();
  void warmUpChildPath();
  letForksCopyCodeMappings();
  const [ours, theirs] = socketPair();
  const parentPid = process.pid;
  let pid: number;
  try {
    pid = forkAndUnwind(() => {
      closeFd(ours);
      void becomeSelfForkedChild(parentPid, theirs, (openChannel) => request.runHere(openChannel));
    }, inheritedAsyncContextsLeaver());
  } catch (error) {
    closeFd(ours);
    closeFd(theirs);
    throw error;
  }
  closeFd(theirs);
  const child: ForkedChild = new ForkedChild(pid, ours, (_child, keep) => (keep ? watch.ref() : watch.unref()));
  const watch = watchExit(pid, (code) => {
    if (code !== null) child.reportExit(code);
  });
  watch.unref();
  return child;
}
