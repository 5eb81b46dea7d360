/**
 * Whether a function was defined inside another function. Its scope chain
 * does not always say: V8 drops an enclosing function's scope that holds no
 * captured variable, so `function f() { return () => 1; }` makes an arrow
 * whose scopes look module-level. V8's best-effort coverage lists the ranges
 * of the functions it has compiled, and a function that exists had its
 * enclosing function compiled and run, so a range around the definition
 * site other than the script's own (and the function's own) means nesting.
 * Costs a few milliseconds, once per function that travels inside a value.
 */
import { holdDebugger, post, positionOfFunction } from './inspector-session.ts';

interface CoverageRange {
  startOffset: number;
  endOffset: number;
}

interface ScriptCoverage {
  scriptId: string;
  functions: { functionName: string; ranges: CoverageRange[] }[];
}

const lineStarts = new Map<string, { source: string; starts: number[] }>();

function scriptText(scriptId: string): { source: string; starts: number[] } {
  let known = lineStarts.get(scriptId);
  if (!known) {
    // getScriptSource needs the debugger, which is on only for this call.
    const releaseDebugger = holdDebugger();
    try {
      const { scriptSource } = post<{ scriptSource: string }>('Debugger.getScriptSource', { scriptId });
      const starts = [0];
      for (let i = scriptSource.indexOf('\n'); i !== -1; i = scriptSource.indexOf('\n', i + 1)) starts.push(i + 1);
      known = { source: scriptSource, starts };
    } finally {
      releaseDebugger();
    }
    lineStarts.set(scriptId, known);
  }
  return known;
}

/** The name of the function `fn` was defined in ('' for an anonymous one), or null when it is at its script's top level. */
export function enclosingFunctionOf(fn: Function): string | null {
  const position = positionOfFunction(fn);
  if (!position) return null;
  const { source, starts } = scriptText(position.scriptId);
  const offset = (starts[position.line] ?? 0) + position.column;
  post('Profiler.enable');
  let coverage: ScriptCoverage | undefined;
  try {
    coverage = post<{ result: ScriptCoverage[] }>('Profiler.getBestEffortCoverage').result.find(
      (script) => script.scriptId === position.scriptId,
    );
  } finally {
    post('Profiler.disable');
  }
  for (const candidate of coverage?.functions ?? []) {
    const range = candidate.ranges[0];
    // The script's own range (its module body, or a CommonJS module's wrapper) starts at 0.
    if (!range || range.startOffset === 0 || range.startOffset > offset || offset >= range.endOffset) continue;
    // The function's own range starts just before its parameters, with no body opened in between.
    if (!/[{}]|=>/.test(source.slice(range.startOffset, offset))) continue;
    return candidate.functionName;
  }
  return null;
}
