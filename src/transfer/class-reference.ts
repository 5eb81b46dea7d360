/**
 * Class instances travel as pickle sends them: the class by reference (its
 * module and definition site, exported or not) and the instance's own
 * fields; the receiver makes an object of the same class, without running
 * its constructor, and gives it those fields. A class that needs more (private
 * `#fields`, handles to re-open) implements `[reduceForTransfer]()` and
 * registers its kind with `registerShareable`, as the library's own objects do.
 *
 * Objects of Node's own classes (sockets, servers, streams, child processes,
 * workers, ports) hold process-local native state: they are refused, with the
 * path of the value, rather than arriving as gutted plain objects.
 */
import { capturedFunction, importCapturingTopLevel } from './module-capture.ts';
import { describeFunction, findFunctionOnHeap, hasPrivateMembers, type FunctionLocation } from './inspector-session.ts';
import { describePosition } from './source-position.ts';
import { importModule, moduleSpecifier } from './function-lookup.ts';

/** Kind under which class instances are marked for transfer. */
export const CLASS_INSTANCE_KIND = 'multiproc.classInstance';

export interface ClassReference extends FunctionLocation {
  name: string;
  /**
   * Where the class is in the user's source, mapped by the sender, which has
   * its module's source map: a receiver that has not loaded the module has
   * none, and tsx puts a whole module on line 1 of the code V8 runs.
   */
  site?: string;
}

/** What travels for an instance: its class by reference and its own fields (encoded by the caller's walker). */
export interface ClassInstanceState {
  classReference: ClassReference;
  fields: Record<string, unknown>;
}

/** Built-in wrappers that structured clone carries itself. */
const CLONEABLE_BUILTINS = new Set<unknown>([Boolean.prototype, Number.prototype, String.prototype]);

type ClassVerdict = { reference: ClassReference; checkPrivate: boolean } | { refusal: string };
const verdicts = new WeakMap<object, ClassVerdict>();

function judgeClass(prototype: object): ClassVerdict {
  const constructor = Object.prototype.hasOwnProperty.call(prototype, 'constructor')
    ? (prototype as { constructor: unknown }).constructor
    : undefined;
  if (typeof constructor !== 'function' || constructor.prototype !== prototype) {
    return { refusal: 'it is an object with a custom prototype but no class, which cannot be found again in another process' };
  }
  const details = describeFunction(constructor);
  const name = constructor.name || '<anonymous class>';
  if (!details || /\{\s*\[native code\]\s*\}$/.test(Function.prototype.toString.call(constructor))) {
    return { refusal: `it is a ${name}, a built-in object with native state that cannot be sent to another process` };
  }
  if (!details.url.startsWith('file:') && !details.url.startsWith('/')) {
    return {
      refusal:
        `it is a ${name} (from ${details.url || 'eval'}), which holds state of this process (a socket, handle, ` +
        'stream, port or similar) that cannot be sent to another process; send the data it holds instead',
    };
  }
  if (details.enclosingNames.length > 0) {
    // Like a closure, a class made by a function exists only where that function ran.
    return {
      refusal:
        `it is an instance of ${name}, a class defined inside a function, ` +
        'which another process cannot find; define the class at module level or give it a [reduceForTransfer]() method',
    };
  }
  const { url, line, column } = details;
  return { reference: { name, url, line, column, site: describePosition(url, line, column) }, checkPrivate: true };
}

function verdictFor(prototype: object): ClassVerdict {
  let verdict = verdicts.get(prototype);
  if (!verdict) {
    verdict = judgeClass(prototype);
    verdicts.set(prototype, verdict);
  }
  return verdict;
}

/** A class by reference, or null for a class that cannot be found again elsewhere (built-in, native, eval'd). */
export function referenceClass(constructor: Function): ClassReference | null {
  const prototype = constructor.prototype as unknown;
  if (typeof prototype !== 'object' || prototype === null) return null;
  const verdict = verdictFor(prototype);
  return 'reference' in verdict ? verdict.reference : null;
}

/**
 * For the transfer walker: null for a plain object (or a built-in wrapper
 * structured clone carries), the state to send for a class instance, or why
 * it cannot travel (the walker throws UnserializableError with its path).
 */
export function reduceClassInstance(value: object): { state: ClassInstanceState } | { refusal: string } | null {
  const prototype = Object.getPrototypeOf(value);
  if (prototype === null || prototype === Object.prototype || CLONEABLE_BUILTINS.has(prototype)) return null;
  let verdict = verdictFor(prototype);
  if ('refusal' in verdict) return verdict;
  if (verdict.checkPrivate) {
    // Private fields are per class, so the first instance answers for all.
    if (hasPrivateMembers(value)) {
      verdict = {
        refusal:
          `it is an instance of ${verdict.reference.name}, whose private #fields cannot be read from outside the class; ` +
          'give the class a [reduceForTransfer]() method and register its kind with registerShareable',
      };
      verdicts.set(prototype, verdict);
      return verdict;
    }
    verdict.checkPrivate = false;
  }
  return { state: { classReference: verdict.reference, fields: { ...value } } };
}

const foundClasses = new Map<string, Function | null>();
const classKey = (reference: ClassReference) => `${reference.url}:${reference.line}:${reference.column}`;

/**
 * Finds a class in this process by definition site, without importing
 * anything: its module is normally loaded already (it defines the target that
 * received or produced the instance).
 */
export function findClass(reference: ClassReference): Function | null {
  const key = classKey(reference);
  if (!foundClasses.has(key)) {
    const found = capturedFunction(reference) ?? (reference.name ? findFunctionOnHeap(reference.name, reference) : undefined);
    foundClasses.set(key, found ?? null);
  }
  return foundClasses.get(key)!;
}

let deferred: { instance: object; reference: ClassReference }[] | null = null;

/**
 * Until the returned function is awaited, an instance whose class is not
 * loaded yet is made without its class and given it then. For the fork
 * snapshot, which is decoded before the modules that define its classes are
 * imported (in a real fork they would already be there). Like unpickling, the
 * returned function imports a class's module when nothing else did; it throws,
 * naming the class, if one is still missing.
 */
export function deferMissingClasses(): () => Promise<void> {
  deferred = [];
  return async () => {
    const pending = deferred ?? [];
    deferred = null;
    for (const { instance, reference } of pending) {
      await importClassModule(reference);
      Object.setPrototypeOf(instance, classPrototype(reference));
    }
  };
}

/** Like unpickling: imports a class's module when the class is not found in this process (nothing else imported it). */
export async function importClassModule(reference: ClassReference): Promise<void> {
  if (findClass(reference)) return;
  foundClasses.delete(classKey(reference));
  const specifier = moduleSpecifier(reference.url);
  // importModule, not import(): it refuses, or takes an inherited module, where import() would hang.
  if (specifier) await importCapturingTopLevel(reference.url, () => importModule(specifier));
}

function classPrototype(reference: ClassReference): object {
  const found = findClass(reference);
  if (!found) {
    const { name, url, line, column, site } = reference;
    throw new TypeError(
      `an instance of class ${name} (${site ?? describePosition(url, line, column)}) arrived, but that class is not loaded in ` +
        'this process, or its module keeps no reference to it. Export it from its module, or import that module ' +
        'in the target\'s module.',
    );
  }
  return found.prototype as object;
}

/** For the transfer walker: an empty object of the instance's class, which the walker fills with the decoded fields. */
export function instantiateClass(state: ClassInstanceState): object {
  if (deferred && !findClass(state.classReference)) {
    foundClasses.delete(classKey(state.classReference));
    const instance = {};
    deferred.push({ instance, reference: state.classReference });
    return instance;
  }
  return Object.create(classPrototype(state.classReference)) as object;
}
