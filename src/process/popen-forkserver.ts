/**
 * forkserver: children are forked by a zygote, a Node process that has
 * booted fork-ready and imported the library, the program's main module and
 * the preload modules (see zygote.ts). Where forking is off (see
 * fork-support.ts), children are booted instead, from a reserve of spares.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StartMethod } from './popen.ts';
import { forkOrBoot, prepareZygote } from './zygote.ts';

const RESERVE = 2;
let preload: string[] = [];

/** Modules every forkserver child imports before it is handed work (absolute paths, file: URLs or package names). */
export function setForkserverPreload(modules: string[]): void {
  if (!Array.isArray(modules) || modules.some((m) => typeof m !== 'string' || m === '')) {
    throw new TypeError('setForkserverPreload(modules) expects an array of module names or paths');
  }
  preload = modules.map((m) => (isAbsolute(m) ? pathToFileURL(m).href : m));
}

export const forkserverStartMethod: StartMethod = {
  name: 'forkserver',
  launch(request) {
    return forkOrBoot(request.payload(), preload, RESERVE);
  },
  prepare() {
    return prepareZygote(preload);
  },
};
