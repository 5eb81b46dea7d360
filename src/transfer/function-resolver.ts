/**
 * Child side of sending a function: import its module again and find the
 * same function there (exported or not, see function-lookup.ts), else
 * rebuild it from source.
 */
import { learnPositions } from './inspector-session.ts';
import { importCapturingTopLevel } from './module-capture.ts';
import { importClassModule } from './class-reference.ts';
import { decodeFromTransfer, definitionsIn } from './shareable.ts';
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
 * Imports what an encoded value names and this process lacks: the modules of
 * its functions and of its instances' classes, as unpickling imports a
 * class's module. For receivers that can wait: a pool worker before decoding
 * its tasks (`captureAll`, see importDefiningModule), an awaited queue get or
 * pipe recv when decoding found something missing.
 */
export async function importDefinitionModules(encoded: unknown, captureAll = false): Promise<void> {
  const { functions, classes } = definitionsIn(encoded);
  for (const reference of functions) await importDefiningModule(reference, captureAll);
  for (const reference of classes) await importClassModule(reference);
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
