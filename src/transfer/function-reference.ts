/**
 * Parent side of sending a function to a child. Like Python's pickle, a
 * module-level function travels by reference (its module and definition
 * site) and the child imports the module again. Its source goes along as a
 * fallback for functions created at run time, which is sound only when the
 * function uses nothing but its arguments and globals.
 */
import { boundParts, describeFunction } from './inspector-session.ts';
import { encodeForTransfer } from './shareable.ts';

/** How a function is found again in another process. */
export interface FunctionReference {
  name: string;
  /** Defining module (file: URL for ESM, path for CommonJS); '' when there is none. */
  url: string;
  line: number;
  column: number;
  /** Source text, usable only when the function uses no outer variables. */
  source: string;
  /** Variables of enclosing functions that the source mentions; source cannot carry them. */
  enclosingNames: string[];
  /** Module-level variables that the source mentions; only importing the module provides them. */
  moduleNames: string[];
  /**
   * The function's module keeps no reference to it that outlives the module's
   * body (not exported, not used by a closure): the child must catch it while
   * importing the module, see module-capture.ts.
   */
  unreachable: boolean;
  /**
   * Set for `target.bind(thisArg, ...args)`: the other fields describe the
   * target, and these travel encoded for transfer, as functools.partial does.
   */
  bound?: { thisArg: unknown; args: unknown };
}

function mentioned(names: string[], source: string): string[] {
  return [...new Set(names)].filter((name) => new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}([^\\w$]|$)`).test(source));
}

const references = new WeakMap<Function, FunctionReference>();

/**
 * Describes `fn` for another process, or throws a TypeError that names it and
 * says why it cannot be sent. `label` says what the function is for, e.g. "target".
 */
export function referenceFunction(fn: Function, label: string): FunctionReference {
  const cached = references.get(fn);
  if (cached) return cached;
  const bound = boundParts(fn);
  if (bound) {
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
  const name = fn.name || '<anonymous>';
  const source = Function.prototype.toString.call(fn);
  const details = describeFunction(fn);
  if (!details || /\{\s*\[native code\]\s*\}$/.test(source)) {
    throw new TypeError(
      `${label} '${name}' cannot be sent to a child process: it is a native function, ` +
        'which has neither a module to import nor source to send. Wrap it in a module-level function.',
    );
  }
  const enclosingNames = mentioned(details.enclosingNames, source);
  const moduleNames = mentioned(details.moduleNames, source);
  if (!details.url && enclosingNames.length + moduleNames.length > 0) {
    throw new TypeError(
      `${label} '${name}' cannot be sent to a child process: it was created by eval and uses ` +
        `${[...enclosingNames, ...moduleNames].join(', ')} from outside itself. Pass those as arguments instead.`,
    );
  }
  const reference: FunctionReference = {
    name: fn.name,
    url: details.url,
    line: details.line,
    column: details.column,
    source,
    enclosingNames,
    moduleNames,
    // An ES module's scope lives as long as the module; a CommonJS wrapper's
    // only while a closure holds it, so there even a name in scope may be gone.
    unreachable: details.url !== '' && (details.commonJs || !details.moduleNames.includes(fn.name)),
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
