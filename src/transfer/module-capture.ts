/**
 * Finds a module's top-level functions and classes that nothing outside the
 * module can reach. V8 keeps a module-level binding that is neither exported
 * nor used by a closure in a register of the module's body, not in its
 * context, so once the body has run the function is garbage: neither the
 * module's exports nor a heap walk finds it in the child. Python's pickle
 * never meets this because a module's globals are a dict.
 *
 * So, while such a module is imported, the debugger pauses once at the end of
 * its body, where every top-level binding is initialised (including classes
 * and `const` arrows), and keeps the functions its scope holds, keyed by their
 * definition site. The debugger is on only during that import: enabling it
 * costs ~20–40 ms, which is why this runs only for functions that the parent
 * saw were unreachable.
 */
import {
  holdDebugger,
  onInspectorEvent,
  positionOf,
  post,
  properties,
  release,
  valueOf,
  type FunctionLocation,
} from './inspector-session.ts';

const capturedByUrl = new Map<string, Map<string, Function>>();

function positionKey(line: number, column: number): string {
  return `${line}:${column}`;
}

/** A function captured while its module was imported, if one was defined at this site. */
export function capturedFunction(where: FunctionLocation): Function | undefined {
  return capturedByUrl.get(where.url)?.get(positionKey(where.line, where.column));
}

interface CallFrame {
  callFrameId: string;
  location: { scriptId: string; lineNumber: number; columnNumber: number };
  scopeChain: { type: string; object: { objectId?: string } }[];
}

function keepTopLevelFunctions(url: string, frame: CallFrame): void {
  // An ES module's body shows its bindings as the 'module' scope; a CommonJS
  // module's wrapper shows them as 'local'.
  const scope = frame.scopeChain.find((s) => s.type === 'module' || s.type === 'local');
  if (!scope?.object.objectId) return;
  const found = capturedByUrl.get(url) ?? new Map<string, Function>();
  capturedByUrl.set(url, found);
  for (const variable of properties(scope.object.objectId).result) {
    const objectId = variable.value?.objectId;
    if (variable.value?.type !== 'function' || !objectId) continue;
    const position = positionOf(objectId);
    if (position) found.set(positionKey(position.line, position.column), valueOf(objectId) as Function);
  }
}

interface ParsedScript {
  scriptId: string;
  url: string;
  endLine: number;
  endColumn: number;
  isModule?: boolean;
}

type Position = { lineNumber: number; columnNumber: number };

/**
 * Where a CommonJS module's wrapper returns: the script's last return, since
 * the wrapper encloses everything else. (For an ES module, a breakpoint at the
 * script's very end resolves to its body's return; in a CommonJS script that
 * position is outside the wrapper and never hit.)
 */
function wrapperReturn(script: ParsedScript): Position | undefined {
  const { locations } = post<{ locations: (Position & { type?: string })[] }>('Debugger.getPossibleBreakpoints', {
    start: { scriptId: script.scriptId, lineNumber: 0, columnNumber: 0 },
    end: { scriptId: script.scriptId, lineNumber: script.endLine, columnNumber: script.endColumn },
  });
  const last = locations.filter((location) => location.type === 'return').at(-1);
  return last && { lineNumber: last.lineNumber, columnNumber: last.columnNumber };
}

/**
 * Runs `load` (which imports the module at `url`) with the debugger set to
 * keep that module's top-level functions. If the module was already
 * evaluated, nothing is captured and the caller falls back to other lookups.
 */
export function importCapturingTopLevel<T>(url: string, load: () => Promise<T>): Promise<T> {
  // One at a time: a second capture's Debugger.enable replays scriptParsed
  // for a module the first is importing (a duplicate breakpoint), and the
  // first one's Debugger.disable ends the second's. Two functions of one
  // module, sent to a pool worker together, start two captures at once.
  const turn = captureQueue.then(() => (capturedUrls.has(url) ? load() : captureWhileLoading(url, load)));
  captureQueue = turn.catch(() => undefined);
  return turn;
}

let captureQueue: Promise<unknown> = Promise.resolve();
/** Modules a capture has imported: importing again runs nothing, so there is nothing more to capture. */
const capturedUrls = new Set<string>();

async function captureWhileLoading<T>(url: string, load: () => Promise<T>): Promise<T> {
  const endBreakpoints = new Set<string>();
  const stopParsed = onInspectorEvent('Debugger.scriptParsed', (params: ParsedScript) => {
    if (params.url !== url) return;
    const end = params.isModule ? { lineNumber: params.endLine, columnNumber: params.endColumn } : wrapperReturn(params);
    if (!end) return;
    const { breakpointId } = post<{ breakpointId: string }>('Debugger.setBreakpoint', {
      location: { scriptId: params.scriptId, ...end },
    });
    endBreakpoints.add(breakpointId);
  });
  const stopPaused = onInspectorEvent('Debugger.paused', (params: { hitBreakpoints?: string[]; callFrames: CallFrame[] }) => {
    try {
      const frame = params.callFrames[0];
      if (frame && params.hitBreakpoints?.some((id) => endBreakpoints.has(id))) keepTopLevelFunctions(url, frame);
    } finally {
      release();
      post('Debugger.resume');
    }
  });
  const releaseDebugger = holdDebugger();
  try {
    return await load();
  } finally {
    capturedUrls.add(url);
    for (const breakpointId of endBreakpoints) post('Debugger.removeBreakpoint', { breakpointId });
    releaseDebugger();
    stopParsed();
    stopPaused();
  }
}
