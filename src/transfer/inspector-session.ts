/**
 * V8's in-process inspector, used to find where a function was defined.
 * JavaScript has no public API for a function's source location or for the
 * variables its closure captures; the inspector has both, and an in-process
 * session answers synchronously, so `start()` can stay synchronous.
 */
import { Session } from 'node:inspector';
import { definingModuleUrl } from './loaded-modules.ts';

export interface FunctionLocation {
  /** The defining script: a file: URL for ES modules, a path for CommonJS, '' for eval'd code. */
  url: string;
  line: number;
  column: number;
}

export interface FunctionDetails extends FunctionLocation {
  /** Variables of enclosing functions or blocks that the function's scope chain holds. */
  enclosingNames: string[];
  /** Module-level variables the scope chain holds (a CommonJS module's wrapper counts as module scope). */
  moduleNames: string[];
  /** No ES module scope in the chain: a CommonJS module's (or a script's) function. */
  commonJs: boolean;
}

interface RemoteObject {
  objectId?: string;
  value?: any;
  type?: string;
  subtype?: string;
  description?: string;
}

interface PropertyDescriptor {
  name: string;
  value?: RemoteObject;
}

let session: Session | undefined;
const scriptUrls = new Map<string, string>();

const HANDOFF_KEY = Symbol.for('multiproc.inspectorHandoff');
export const OBJECT_GROUP = 'multiproc';

function connected(): Session {
  if (!session) {
    session = new Session();
    session.connect();
    session.on('Debugger.scriptParsed', ({ params }) => {
      scriptUrls.set(params.scriptId, params.url);
    });
  }
  return session;
}

/** Sends an inspector command; an in-process session answers synchronously. */
export function post<T>(method: string, params?: object): T {
  const session = connected();
  let result: T | undefined;
  let failure: Error | null = null;
  session.post(method, params as never, (error, response) => {
    failure = error;
    result = response as T;
  });
  if (failure) throw failure;
  if (result === undefined) throw new Error(`inspector did not answer ${method} synchronously`);
  return result;
}

/**
 * Connects the session ahead of need (an idle spare child does this while it
 * waits for work), and runs the lookup that finding the target does once, which
 * makes that lookup ~0.3 ms quicker when the payload comes.
 */
export function warmUpInspector(): void {
  try {
    positionOf(remoteHandle(warmUpInspector));
  } finally {
    release();
  }
}

/** Listens to a session event (e.g. Debugger.paused); returns the function that stops listening. */
export function onInspectorEvent(event: string, listener: (params: any) => void): () => void {
  const handler = (message: { params: unknown }) => listener(message.params);
  connected().on(event, handler);
  return () => connected().off(event, handler);
}

let debuggerHolders = 0;

/**
 * Enables the debugger until the returned function is called. Holds nest:
 * the debugger is disabled only when the last one ends, so a short lookup
 * never ends a module capture that is waiting at its breakpoints.
 */
export function holdDebugger(): () => void {
  if (debuggerHolders++ === 0) post('Debugger.enable');
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    if (--debuggerHolders === 0) post('Debugger.disable');
  };
}

/**
 * Learns the URL of every script that has live functions. Best-effort
 * coverage lists them without enabling the debugger, which hashes the source
 * of every loaded script: 10-13 ms against 40-130 ms (the first start() of a
 * program paid that; more with a large program loaded).
 */
let scriptUrlScans = 0;

function learnScriptUrls(): void {
  scriptUrlScans++;
  const { result } = post<{ result: { scriptId: string; url: string }[] }>('Profiler.getBestEffortCoverage');
  for (const script of result) scriptUrls.set(script.scriptId, script.url);
}

/** How many times this process listed every script to name one (for tests). */
export function scriptUrlScanCount(): number {
  return scriptUrlScans;
}

function scriptUrl(scriptId: string): string {
  if (!scriptUrls.has(scriptId)) learnScriptUrls();
  // Enabling the debugger replays scriptParsed for every loaded script;
  // it is disabled again at once so that it costs nothing while code runs.
  if (!scriptUrls.has(scriptId)) holdDebugger()();
  return scriptUrls.get(scriptId) ?? '';
}

function remoteHandle(value: unknown): string {
  (globalThis as Record<symbol, unknown>)[HANDOFF_KEY] = value;
  try {
    const { result } = post<{ result: RemoteObject }>('Runtime.evaluate', {
      expression: `globalThis[Symbol.for('multiproc.inspectorHandoff')]`,
      objectGroup: OBJECT_GROUP,
    });
    return result.objectId!;
  } finally {
    delete (globalThis as Record<symbol, unknown>)[HANDOFF_KEY];
  }
}

/** The live value behind an inspector object id. */
export function valueOf(objectId: string): unknown {
  post('Runtime.callFunctionOn', {
    objectId,
    functionDeclaration: `function () { globalThis[Symbol.for('multiproc.inspectorHandoff')] = this; }`,
  });
  const value = (globalThis as Record<symbol, unknown>)[HANDOFF_KEY];
  delete (globalThis as Record<symbol, unknown>)[HANDOFF_KEY];
  return value;
}

export function properties(objectId: string): { result: PropertyDescriptor[]; internalProperties?: PropertyDescriptor[] } {
  return post('Runtime.getProperties', { objectId, ownProperties: true });
}

export function release(): void {
  post('Runtime.releaseObjectGroup', { objectGroup: OBJECT_GROUP });
}

/** Where `fn` was defined, with its script's id; null for native code. */
export function positionOfFunction(fn: Function): { line: number; column: number; scriptId: string } | null {
  try {
    return positionOf(remoteHandle(fn));
  } finally {
    release();
  }
}

/** Line and column only: resolving the script's URL costs ~10 ms the first time (see learnScriptUrls). */
export function positionOf(objectId: string): { line: number; column: number; scriptId: string } | null {
  const internal = properties(objectId).internalProperties ?? [];
  const raw = internal.find((p) => p.name === '[[FunctionLocation]]')?.value?.value;
  return raw ? { line: raw.lineNumber, column: raw.columnNumber, scriptId: raw.scriptId } : null;
}

function locationOf(objectId: string, fn?: Function): { location: FunctionLocation | null; scopesId?: string } {
  const internal = properties(objectId).internalProperties ?? [];
  const scopesId = internal.find((p) => p.name === '[[Scopes]]')?.value?.objectId;
  const position = positionOf(objectId);
  if (!position) return { location: null, scopesId };
  if (fn && !scriptUrls.has(position.scriptId)) {
    // An exported function's module, found among the loaded ones, saves the ~10 ms of learnScriptUrls.
    const url = definingModuleUrl(fn, position);
    if (url) scriptUrls.set(position.scriptId, url);
  }
  return { location: { url: scriptUrl(position.scriptId), line: position.line, column: position.column }, scopesId };
}


/** Where `fn` was defined and which enclosing-function variables it captures; null for native code. */
export function describeFunction(fn: Function): FunctionDetails | null {
  try {
    const { location, scopesId } = locationOf(remoteHandle(fn), fn);
    if (!location) return null;
    // The global and script scopes are left out before their variables are
    // listed: listing the global one reads Node's lazy globals (fetch,
    // WebSocket, …), which loads and compiles their modules (Node 22: 35 ms,
    // 150 ms in a program run fork-ready, on the first function sent).
    const scopes = scopesId
      ? properties(scopesId)
          .result.filter((scope) => /^\d+$/.test(scope.name) && scope.value?.objectId)
          .map((scope) => ({ kind: (scope.value!.description ?? '').split(' ')[0], objectId: scope.value!.objectId! }))
          .filter((scope) => scope.kind !== 'Global' && scope.kind !== 'Script')
          .map(({ kind, objectId }) => ({ kind, names: properties(objectId).result.map((variable) => variable.name) }))
      : [];
    // A CommonJS module's wrapper function shows up as the outermost closure
    // (its script URL may be a path or, in newer Node, a file: URL like an ES module's).
    const last = scopes.length - 1;
    const isCommonJs = !scopes.some((scope) => scope.kind === 'Module');
    const isModuleScope = (kind: string, i: number) => kind === 'Module' || (isCommonJs && i === last && kind === 'Closure');
    return {
      ...location,
      commonJs: isCommonJs,
      moduleNames: scopes.filter((s, i) => isModuleScope(s.kind, i)).flatMap((s) => s.names),
      enclosingNames: scopes.filter((s, i) => !isModuleScope(s.kind, i)).flatMap((s) => s.names),
    };
  } finally {
    release();
  }
}

type Position = { line: number; column: number } | null;
const knownPositions = new WeakMap<Function, Position>();

/**
 * Looks up where these functions were defined ahead of need, so that
 * isDefinedAt answers from memory (a spare child does this for its preloaded
 * modules' exports while it waits for work).
 */
export function learnPositions(fns: Iterable<Function>): void {
  try {
    for (const fn of fns) {
      if (knownPositions.has(fn)) continue;
      const position = positionOf(remoteHandle(fn));
      knownPositions.set(fn, position && { line: position.line, column: position.column });
    }
  } finally {
    release();
  }
}

/**
 * Whether `fn` was defined at this line and column. The script is not
 * compared, which keeps the debugger off: callers check only functions
 * taken from the module that the location names.
 */
export function isDefinedAt(fn: Function, where: FunctionLocation): boolean {
  const known = knownPositions.get(fn);
  if (known !== undefined) return known !== null && known.line === where.line && known.column === where.column;
  try {
    const position = positionOf(remoteHandle(fn));
    return position !== null && position.line === where.line && position.column === where.column;
  } finally {
    release();
  }
}

const FUNCTION_PROTOTYPES = [
  'Function.prototype',
  'Object.getPrototypeOf(async function () {})',
  'Object.getPrototypeOf(function* () {})',
  'Object.getPrototypeOf(async function* () {})',
];

/**
 * Finds a live function by name and definition site, even one that its module
 * does not export. Walks the heap, so it is only the fallback after exports.
 */
export function findFunctionOnHeap(name: string, where: FunctionLocation): Function | undefined {
  try {
    for (const prototypeExpression of FUNCTION_PROTOTYPES) {
      const { result: prototype } = post<{ result: RemoteObject }>('Runtime.evaluate', {
        expression: prototypeExpression,
        objectGroup: OBJECT_GROUP,
      });
      const { objects } = post<{ objects: RemoteObject }>('Runtime.queryObjects', {
        prototypeObjectId: prototype.objectId,
        objectGroup: OBJECT_GROUP,
      });
      const { result: named } = post<{ result: RemoteObject }>('Runtime.callFunctionOn', {
        objectId: objects.objectId,
        functionDeclaration: 'function (name) { return this.filter((f) => f.name === name); }',
        arguments: [{ value: name }],
        objectGroup: OBJECT_GROUP,
      });
      for (const candidate of properties(named.objectId!).result) {
        if (!/^\d+$/.test(candidate.name) || !candidate.value?.objectId) continue;
        const { location } = locationOf(candidate.value.objectId);
        if (location && sameLocation(location, where)) {
          return valueOf(candidate.value.objectId) as Function;
        }
      }
    }
    return undefined;
  } finally {
    release();
  }
}

function sameLocation(a: FunctionLocation, b: FunctionLocation): boolean {
  return a.url === b.url && a.line === b.line && a.column === b.column;
}

/** What `fn.bind(thisArg, ...args)` made `fn` from; null when `fn` is not a bound function. */
export function boundParts(fn: Function): { target: Function; thisArg: unknown; args: unknown[] } | null {
  try {
    const internal = properties(remoteHandle(fn)).internalProperties ?? [];
    const part = (name: string) => internal.find((p) => p.name === name)?.value;
    const target = part('[[TargetFunction]]');
    if (!target?.objectId) return null;
    const live = (remote: RemoteObject | undefined) =>
      remote?.objectId ? valueOf(remote.objectId) : remote?.type === 'bigint' ? BigInt(remote.description!.slice(0, -1)) : remote?.value;
    return { target: valueOf(target.objectId) as Function, thisArg: live(part('[[BoundThis]]')), args: live(part('[[BoundArgs]]')) as unknown[] };
  } finally {
    release();
  }
}

/** Whether `value` has private `#fields` (or `#methods`), which no code outside its class can read. */
export function hasPrivateMembers(value: object): boolean {
  try {
    const described = post<{ privateProperties?: unknown[] }>('Runtime.getProperties', { objectId: remoteHandle(value), ownProperties: true });
    return (described.privateProperties?.length ?? 0) > 0;
  } finally {
    release();
  }
}
