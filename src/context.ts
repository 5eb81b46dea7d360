/**
 * Start-method selection and contexts: the same API bound to one start
 * method, as Python's multiprocessing.get_context().
 */
import { cpus, availableParallelism } from 'node:os';
import type { StartMethodName } from './launch-payload.ts';
import {
  activeChildren,
  currentProcess,
  getDefaultStartMethod,
  parentProcess,
  Process,
  processClassFor,
  setDefaultStartMethod,
} from './process.ts';

const ALL_START_METHODS: readonly StartMethodName[] = ['fork', 'spawn', 'forkserver'];
let startMethodChosen = false;

function checkMethod(method: unknown, argument: string): StartMethodName {
  if (typeof method !== 'string' || !ALL_START_METHODS.includes(method as StartMethodName)) {
    throw new TypeError(
      `cannot find context for ${JSON.stringify(method)}: ${argument} must be one of ${ALL_START_METHODS.join(', ')}`,
    );
  }
  return method as StartMethodName;
}

/** The multiproc API with every Process bound to one start method. */
export class Context {
  /** Process class whose start() uses this context's start method. */
  readonly Process: typeof Process;
  readonly currentProcess = currentProcess;
  readonly parentProcess = parentProcess;
  readonly activeChildren = activeChildren;
  readonly cpuCount = cpuCount;

  constructor(private readonly method: StartMethodName) {
    this.Process = processClassFor(method);
  }

  /** The start method this context is bound to. */
  getStartMethod(): StartMethodName {
    return this.method;
  }
}

const contexts = new Map<StartMethodName, Context>();

/** The context for `method` (default: the current default start method). */
export function getContext(method?: StartMethodName): Context {
  const name = method === undefined ? getDefaultStartMethod() : checkMethod(method, 'method');
  let context = contexts.get(name);
  if (!context) {
    context = new Context(name);
    contexts.set(name, context);
  }
  return context;
}

/** Sets the default start method; a second call throws unless `{ force: true }`. */
export function setStartMethod(method: StartMethodName, options: { force?: boolean } = {}): void {
  const name = checkMethod(method, 'method');
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  if (startMethodChosen && !options.force) throw new Error('context has already been set');
  setDefaultStartMethod(name);
  startMethodChosen = true;
}

/** The default start method: 'fork' unless setStartMethod() chose another. */
export function getStartMethod(): StartMethodName {
  return getDefaultStartMethod();
}

/** Every start method multiproc supports, default first. */
export function getAllStartMethods(): StartMethodName[] {
  return [...ALL_START_METHODS];
}

/** Number of CPUs the process may use. */
export function cpuCount(): number {
  return typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
}
