/**
 * forkserver: like spawn, but children come ready-made from a server that
 * has already booted Node and imported the library and the preload modules.
 * Node cannot safely fork() itself, so the "server" keeps booted children
 * in reserve instead (see vehicle-os-process.ts).
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StartMethod } from './popen.ts';
import { osProcessVehicle } from './vehicle-os-process.ts';

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
  launch(payload) {
    return osProcessVehicle.launch(payload, { preload, spares: RESERVE });
  },
};
