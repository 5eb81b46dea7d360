/** The entry-point guard, TypeScript's `if __name__ == '__main__':`. */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { currentState } from './process-identity.ts';

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function withoutExtension(path: string): string {
  return path.replace(/\.[cm]?[jt]sx?$/, '');
}

/**
 * True only in the program's entry module, in the main process. Pass
 * `import.meta` from an ES module, or `module` from CommonJS. Children
 * import their target's module again, so code that starts processes must
 * sit under this guard.
 */
export function isMainModule(meta: { url: string } | { filename: string }): boolean {
  if (typeof meta !== 'object' || meta === null || !('url' in meta || 'filename' in meta)) {
    throw new TypeError('isMainModule(meta) expects import.meta (ES modules) or module (CommonJS)');
  }
  if (currentState.isChild) return false;
  const entry = process.argv[1];
  if (!entry) return false;
  const file = 'url' in meta ? (meta.url.startsWith('file:') ? fileURLToPath(meta.url) : null) : meta.filename;
  if (!file) return false;
  const a = canonical(file);
  const b = canonical(entry);
  return a === b || withoutExtension(a) === b;
}
