/**
 * multiproc: Python's multiprocessing model for TypeScript on Node.js.
 * This file only re-exports the public API.
 */
export { Process, type ProcessOptions, currentProcess, parentProcess, activeChildren } from './process.ts';
export {
  Context,
  getContext,
  setStartMethod,
  getStartMethod,
  getAllStartMethods,
  cpuCount,
} from './context.ts';
export { setForkserverPreload } from './popen-forkserver.ts';
export { isMainModule } from './main-module.ts';
export type { StartMethodName } from './launch-payload.ts';
export {
  type Shareable,
  type ReducedShareable,
  reduceForTransfer,
  registerShareable,
  UnserializableError,
} from './shareable.ts';
