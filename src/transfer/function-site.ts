/**
 * Where a function is defined, for finding it again in another process:
 * the part of a FunctionReference that needs no encoding of values, so the
 * value walker (shareable.ts) can use it for functions inside values without
 * an import cycle. Bound functions are function-reference.ts's (targets) and
 * shareable.ts's (values): both encode the bound parts with the walker.
 */
import { describeFunction } from './inspector-session.ts';
import { enclosingFunctionOf } from './function-nesting.ts';

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

interface Site {
  reference: FunctionReference;
  /** Why the function cannot travel inside a value (a closure, Node's own code), or null. */
  notAValue: string | null;
  commonJs: boolean;
}

const sites = new WeakMap<Function, Site>();

function siteOf(fn: Function, label: string): Site {
  const cached = sites.get(fn);
  if (cached) return cached;
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
  const site: Site = {
    reference: {
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
    },
    notAValue: null,
    commonJs: details.commonJs,
  };
  if (details.url && !details.url.startsWith('file:') && !details.url.startsWith('/')) {
    site.notAValue = `it is ${name}, a function of ${details.url}, which is not a module another process can import`;
  } else if (enclosingNames.length > 0) {
    // A closure exists only where its enclosing function ran: like pickle with
    // a local function, refuse it here rather than let the receiver fail.
    site.notAValue =
      `it is function '${name}', a closure over ${enclosingNames.join(', ')} of an enclosing function, ` +
      'which another process cannot find; define it at module level and pass what it captures as arguments';
  }
  sites.set(fn, site);
  return site;
}

/** Why a module function cannot travel inside a value: it was made by running an enclosing function. */
function nestingRefusal(fn: Function, site: Site): string | null {
  // A CommonJS module's wrapper is a function too, and loaders wrap it in
  // more (tsx's on-the-fly CommonJS): there only the closure check applies.
  if (!site.reference.url || site.commonJs) return null;
  const enclosing = enclosingFunctionOf(fn);
  if (enclosing === null) return null;
  return (
    `it is function '${fn.name || '<anonymous>'}', defined inside ${enclosing ? `function '${enclosing}'` : 'another function'}, ` +
    'which another process cannot find; define it at module level'
  );
}

/**
 * Describes an unbound `fn` for another process, or throws a TypeError that
 * names it and says why it cannot be sent. `label` says what it is for, e.g. "target".
 */
export function referenceFunctionSite(fn: Function, label: string): FunctionReference {
  return siteOf(fn, label).reference;
}

/**
 * For the value walker: the reference of an unbound function inside a value,
 * or why it cannot travel there. Stricter than for a target, whose failure
 * the child reports: a value's function must fail in the caller, at its path.
 */
export function referenceFunctionValue(fn: Function): ValueVerdict {
  let verdict = valueVerdicts.get(fn);
  if (!verdict) {
    try {
      const site = siteOf(fn, 'function');
      const refusal = site.notAValue ?? nestingRefusal(fn, site);
      verdict = refusal === null ? { reference: site.reference } : { refusal };
    } catch (error) {
      verdict = { refusal: (error as Error).message.replace(/^function '[^']*' cannot be sent to a child process: /, '') };
    }
    valueVerdicts.set(fn, verdict);
  }
  return verdict;
}

type ValueVerdict = { reference: FunctionReference } | { refusal: string };
const valueVerdicts = new WeakMap<Function, ValueVerdict>();
