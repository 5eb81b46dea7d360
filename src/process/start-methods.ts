/** Which StartMethod a Process uses: its context's, else the program's default. */
import type { StartMethodName } from './launch-payload.ts';
import type { StartMethod } from './popen.ts';
import { forkStartMethod } from './popen-fork.ts';
import { spawnStartMethod } from './popen-spawn.ts';
import { forkserverStartMethod } from './popen-forkserver.ts';

export const startMethods: Record<StartMethodName, StartMethod> = {
  fork: forkStartMethod,
  spawn: spawnStartMethod,
  forkserver: forkserverStartMethod,
};

export function startMethodFor(
  constructor: Function,
  contextMethods: WeakMap<Function, StartMethodName>,
  fallback: StartMethodName,
): StartMethod {
  for (let c: Function | null = constructor; c; c = Object.getPrototypeOf(c)) {
    const bound = contextMethods.get(c);
    if (bound) return startMethods[bound];
    if (c === Function.prototype) break;
  }
  return startMethods[fallback];
}
