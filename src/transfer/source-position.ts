/**
 * Where a definition site is in the file the user wrote. Positions from the
 * inspector are in the code V8 ran, which tsx (or tsc) produced: tsx squeezes
 * a whole module onto line 1, so an unmapped position is useless in a message.
 */
import { findSourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** `file:line:column` (1-based) of a 0-based position in `url`, through its source map when Node has one. */
export function describePosition(url: string, line: number, column: number): string {
  try {
    // Node registers a module's map under its URL (ES modules) or path (CommonJS).
    const map = findSourceMap(url) ?? (url.startsWith('file:') ? findSourceMap(fileURLToPath(url)) : undefined);
    const entry = map?.findEntry(line, column) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      return `${entry.originalSource}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
    }
  } catch {
    // A malformed map leaves the position as V8 has it.
  }
  return `${url}:${line + 1}:${column + 1}`;
}
