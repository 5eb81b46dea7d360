/**
 * Child side of sending a function: import its module again and find the
 * same function there (exported or not, see function-lookup.ts), else
 * rebuild it from source.
 */
import { learnPositions } from './inspector-session.ts';
import { importCapturingTopLevel } from './module-capture.ts';
import { decodeFromTransfer, functionReferencesIn } from './shareable.ts';
import { exportedCandidates, findFunction, importModule, isImported, moduleSpecifier, type Namespace } from './function-lookup.ts';
import type { FunctionReference } from './function-site.ts';

export { importModule, refuseNewImports, useInheritedModules } from './function-lookup.ts';

/** Beyond this many exports, learning where they are defined would slow a spare's boot more than it saves. */
const MAX_LEARNED_EXPORTS = 64;

/**
 * Imports a module ahead of need and learns where its exported functions are
 * defined, so that a target found among them is resolved without the inspector.
 */
export async function preloadModule(specifier: string): Promise<void> {
  // The zygote and spares import these modules before any target names them,
  // so keep their unexported top-level functions now: later is too late.
  const load = () => importModule(specifier);
  const namespace = specifier.startsWith('file:') ? await importCapturingTopLevel(specifier, load) : await load();
  const exported = exportedCandidates(namespace);
  if (exported.length <= MAX_LEARNED_EXPORTS) learnPositions(exported);
}

/**
 * Imports the module a function came from; run before resolveFunction so that
 * import-time errors surface first. `captureAll` keeps the module's unexported
 * top-level functions even when this one is exported: for a pool worker, whose
 * later tasks, arguments and initializer may name any function of the module,
 * and once a module has run it is too late to catch them (module-capture.ts).
 */
export async function importDefiningModule(reference: FunctionReference, captureAll = false): Promise<Namespace | null> {
  const specifier = moduleSpecifier(reference.url);
  if (!specifier) return null;
  if ((captureAll || reference.unreachable) && !isImported(specifier)) {
    return importCapturingTopLevel(reference.url, () => importModule(specifier));
  }
  return importModule(specifier);
}

/**
 * Imports the modules of the functions inside an encoded value (arguments,
 * tasks), so that decoding it finds them. Items that are only primitives or
 * typed arrays are not walked.
 */
export async function importFunctionModules(encoded: unknown, captureAll = false): Promise<void> {
  for (const reference of functionReferencesIn(encoded)) await importDefiningModule(reference, captureAll);
}

/** Finds the function a FunctionReference describes in this process. */
export function resolveFunction(reference: FunctionReference, namespace: Namespace | null, label: string): Function {
  const fn = findFunction(reference, namespace, label);
  if (reference.bound) {
    const args = decodeFromTransfer(reference.bound.args) as unknown[];
    return fn.bind(decodeFromTransfer(reference.bound.thisArg), ...args);
  }
  return fn;
}
