/**
 * Parent side of sending a function to a child. Like Python's pickle, a
 * module-level function travels by reference (its module and definition
 * site, see function-site.ts) and the child imports the module again. Its
 * source goes along as a fallback for functions created at run time, which
 * is sound only when the function uses nothing but its arguments and globals.
 */
import { boundParts } from './inspector-session.ts';
import { encodeForTransfer } from './shareable.ts';
import { referenceFunctionSite, type FunctionReference } from './function-site.ts';

export type { FunctionReference };

// Every function's answer is kept: boundParts asks the inspector, and a start() must not.
const references = new WeakMap<Function, FunctionReference>();

/**
 * Describes `fn` for another process, or throws a TypeError that names it and
 * says why it cannot be sent. `label` says what the function is for, e.g. "target".
 */
export function referenceFunction(fn: Function, label: string): FunctionReference {
  const cached = references.get(fn);
  if (cached) return cached;
  const bound = boundParts(fn);
  if (!bound) {
    const reference = referenceFunctionSite(fn, label);
    references.set(fn, reference);
    return reference;
  }
  const path = `${label} '${fn.name}'`;
  const reference: FunctionReference = {
    ...referenceFunction(bound.target, label),
    bound: {
      thisArg: encodeForTransfer(bound.thisArg, `${path} bound this`),
      args: encodeForTransfer(bound.args, `${path} bound arguments`),
    },
  };
  references.set(fn, reference);
  return reference;
}

/**
 * A function object that stands for `reference` in this process without its
 * code: referenceFunction() gives `reference` back, so a pool hands it to
 * workers, which find the real function. Calling it throws. For a manager's
 * Pool, whose process receives tasks as references and never imports them.
 */
export function standInFor(reference: FunctionReference): Function {
  const standIn = {
    [reference.name || 'task']: () => {
      throw new TypeError(`'${reference.name}' stands for a function of another process; it cannot run here`);
    },
  }[reference.name || 'task'];
  references.set(standIn, reference);
  return standIn;
}
