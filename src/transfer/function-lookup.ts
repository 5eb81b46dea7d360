/**
 * Finding a function that a FunctionReference describes among what this
 * process has loaded: the synchronous half of function-resolver.ts, which
 * the value walker (shareable.ts) also uses to revive functions inside values.
 */
import { pathToFileURL } from 'node:url';
import { MultiprocError } from '../errors.ts';
import { findFunctionOnHeap, isDefinedAt } from './inspector-session.ts';
import { capturedFunction } from './module-capture.ts';
import { describePosition } from './source-position.ts';
import type { FunctionReference } from './function-site.ts';

export type Namespace = Record<string, unknown>;

export function moduleSpecifier(url: string): string | null {
  if (url.startsWith('file:')) return url;
  if (url.startsWith('/')) return pathToFileURL(url).href;
  return null;
}

export function exportedCandidates(namespace: Namespace): Function[] {
  const found: Function[] = [];
  const visit = (holder: unknown) => {
    if ((typeof holder !== 'object' && typeof holder !== 'function') || holder === null) return;
    // Not Object.keys: on a module forked mid-evaluation (inherited-modules.ts)
    // it throws for a binding not yet initialised, as reading that binding does.
    for (const key of Reflect.ownKeys(holder)) {
      if (typeof key !== 'string') continue;
      let value: unknown;
      try {
        value = (holder as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      if (typeof value === 'function') found.push(value);
    }
  };
  visit(namespace);
  if (typeof namespace.default === 'function') found.push(namespace.default);
  visit(namespace.default);
  return found;
}

function fromSource(reference: FunctionReference): Function {
  // The sourceURL comment makes stack traces name the defining file, not "eval".
  const origin = reference.url ? `\n//# sourceURL=${reference.url}` : '';
  const attempts = [
    `(${reference.source})${origin}`,
    `({ ${reference.source} })[${JSON.stringify(reference.name)}]${origin}`,
  ];
  for (const expression of attempts) {
    try {
      const fn = (0, eval)(expression);
      if (typeof fn === 'function') return fn;
    } catch {
      // The source may be a method shorthand; the second form handles that.
    }
  }
  throw new TypeError(`the source of '${reference.name || '<anonymous>'}' could not be evaluated in the child`);
}

const namespaces = new Map<string, Namespace>();
let lookupVersion = 0;
let importsRefused: string | null = null;
let inheritedNamespace: (specifier: string) => Namespace | undefined = () => undefined;

/**
 * From now on, importModule() fails with `reason` for any module not
 * imported before, instead of importing it: for a forked child whose module
 * loader would wait forever on a hooks thread it does not have.
 */
export function refuseNewImports(reason: string): void {
  importsRefused = reason;
}

/**
 * From now on, importModule() takes a module found by `inherited` (one this
 * forked child already has, from its parent's memory) without import(): the
 * loader would wait forever for a module whose evaluation the parent was in
 * the middle of (a main module at a top-level await), and under a hooks
 * thread it cannot import at all.
 */
export function useInheritedModules(inherited: (specifier: string) => Namespace | undefined): void {
  inheritedNamespace = inherited;
}

/** The namespace of a module imported by importModule() or inherited; undefined if neither. */
function knownNamespace(specifier: string): Namespace | undefined {
  let namespace = namespaces.get(specifier);
  if (!namespace) {
    namespace = inheritedNamespace(specifier);
    if (namespace) {
      namespaces.set(specifier, namespace);
      lookupVersion++;
    }
  }
  return namespace;
}

/**
 * Changes whenever this process imports a module or finds a function only by
 * searching the heap: a child forked at an older version lacks what was added
 * since (the zygote's pre-forked spare, see zygote-main.ts). Functions found
 * among a loaded module's exports or captures it can find by itself.
 */
export function lookupStateVersion(): number {
  return lookupVersion;
}

/** Whether importModule() already has this specifier's module. */
export function isImported(specifier: string): boolean {
  return knownNamespace(specifier) !== undefined;
}

/**
 * import(), remembering the namespace: importing a module again only
 * returns the same namespace, but with a loader such as tsx's it still costs
 * a round trip to the loader thread (~2 ms) to resolve the specifier.
 */
export async function importModule(specifier: string): Promise<Namespace> {
  let namespace = knownNamespace(specifier);
  if (!namespace) {
    if (importsRefused !== null) {
      throw new MultiprocError('ERR_MP_NOT_IN_FORKED_CHILD', `cannot import ${specifier} here: ${importsRefused}`);
    }
    namespace = (await import(specifier)) as Namespace;
    namespaces.set(specifier, namespace);
    lookupVersion++;
  }
  return namespace;
}

const resolved = new Map<string, Function>();

/** Finds the (unbound) function a FunctionReference describes; `namespace` is its module's, if imported. */
export function findFunction(reference: FunctionReference, namespace: Namespace | null, label: string): Function {
  const key = `${reference.url}:${reference.line}:${reference.column}`;
  let fn = resolved.get(key);
  if (!fn) {
    fn = lookUp(reference, namespace, label);
    if (reference.url) resolved.set(key, fn);
  }
  return fn;
}

/** findFunction with the namespace importModule() kept, for callers that cannot wait for an import. */
export function findLoadedFunction(reference: FunctionReference, label: string): Function {
  const specifier = moduleSpecifier(reference.url);
  return findFunction(reference, specifier ? (namespaces.get(specifier) ?? null) : null, label);
}

function lookUp(reference: FunctionReference, namespace: Namespace | null, label: string): Function {
  const name = reference.name || '<anonymous>';
  const captured = capturedFunction(reference);
  if (captured) return captured;
  if (namespace) {
    for (const candidate of exportedCandidates(namespace)) {
      if (candidate.name === reference.name && isDefinedAt(candidate, reference)) return candidate;
    }
  }
  // A function of a module loaded some other way (by the program's own
  // imports) is still on the heap while anything uses it.
  if ((namespace || reference.url) && reference.name) {
    const onHeap = findFunctionOnHeap(reference.name, reference);
    if (onHeap) {
      // A child forked before this lookup would have to search the heap itself, which a forked child cannot do safely.
      lookupVersion++;
      return onHeap;
    }
  }
  const where = `${label} '${name}' (${describePosition(reference.url, reference.line, reference.column)})`;
  if (reference.enclosingNames.length > 0) {
    throw new TypeError(
      `${where} does not exist after importing its module in the child, and it cannot be sent by source ` +
        `because it uses ${reference.enclosingNames.join(', ')} from an enclosing function. Define it at ` +
        'module level, outside the isMainModule guard, or pass those values as arguments.',
    );
  }
  if (reference.moduleNames.length > 0) {
    throw new TypeError(
      `${where} is not exported, so the child cannot find it after importing its module, and it cannot be ` +
        `sent by source because it uses the module-level ${reference.moduleNames.join(', ')}. Export it.`,
    );
  }
  if (!reference.source) {
    throw new TypeError(
      `${where} was not found after importing its module, and it came without its source (a manager's Pool ` +
        'sends functions by module only, never as code). Define it at module level, outside the isMainModule guard, or export it.',
    );
  }
  return fromSource(reference);
}
