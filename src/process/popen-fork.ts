/**
 * fork. In a program run fork-ready (`multiproc app.ts`), a real fork of
 * the program itself (popen-self-fork.ts). Otherwise emulated: Node started
 * the ordinary way cannot fork() safely (its helper threads do not survive
 * it), so the child is forked from the forkserver's zygote (zygote.ts), or
 * booted like spawn, and then given a snapshot of the parent's globals taken
 * at start(): every enumerable own data property of globalThis that
 * structured clone accepts, plus multiproc's shareable objects. Functions,
 * classes and module bindings come from the modules as imported there (by
 * the zygote, or by the booted child), not from the parent.
 *
 * Booted, not forked, while a module loader runs its hooks on a thread (node
 * --import tsx on Node 20): a forked child could not import a module the
 * zygote had not loaded (a pool task's module, a user's own import()), which
 * a booted child can, and fork is the default start method.
 */
import type { StartMethod } from './popen.ts';
import { osProcessVehicle } from './vehicle-os-process.ts';
import { loaderHooksOnThread, programIsForkReady } from './fork-support.ts';
import { forkOrBoot, prepareZygote } from './zygote.ts';
import { forkThisProgram } from './popen-self-fork.ts';
import { encodeForTransfer, UnserializableError } from '../transfer/shareable.ts';
import type { FunctionReference } from '../transfer/function-site.ts';

function snapshotGlobals(): Record<string, unknown> {
  const snapshot: Record<string, unknown> = {};
  for (const key of Object.keys(globalThis)) {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, key);
    // Accessors are Node's lazily loaded built-ins (fetch, crypto, ...), never user data.
    if (!descriptor || !('value' in descriptor) || descriptor.value === globalThis) continue;
    // Functions come from the modules the child imports, which it does after the snapshot is decoded.
    if (typeof descriptor.value === 'function') continue;
    try {
      const functions: FunctionReference[] = [];
      const encoded = encodeForTransfer(descriptor.value, `globalThis.${key}`, functions);
      if (functions.length === 0) snapshot[key] = encoded;
    } catch (error) {
      // A real fork would carry it; the emulation leaves it to the re-imported modules, as documented.
      if (!(error instanceof UnserializableError)) throw error;
    }
  }
  return snapshot;
}

export const forkStartMethod: StartMethod = {
  name: 'fork',
  launch(request) {
    if (programIsForkReady()) return forkThisProgram(request);
    const payload = { ...request.payload(), globals: snapshotGlobals() };
    if (loaderHooksOnThread()) return osProcessVehicle.launch(payload, { preload: [], spares: 1 });
    return forkOrBoot(payload, [], 1);
  },
  prepare() {
    // A real fork needs nothing made ahead; under a loader thread each child boots.
    if (programIsForkReady() || loaderHooksOnThread()) return Promise.resolve();
    return prepareZygote([]);
  },
};
