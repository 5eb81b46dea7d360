/**
 * Modules a forked child inherited from its parent's memory. Under a loader
 * whose hooks run on their own thread (tsx), a forked child cannot import()
 * at all, not even a module its parent already loaded: import() resolves the
 * specifier through the hooks thread first, and the child has no such thread.
 * But the parent's module maps came along with the fork, so a module the
 * parent loaded can be read from them directly. This needs Node's internals
 * (--expose-internals, a fork-ready flag); where their shape differs from
 * what is read here, nothing is found and the import is refused as before.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { esmLoadCache, type Namespace } from '../transfer/loaded-modules.ts';

const requireHere = createRequire(import.meta.url);

/** The namespace of `specifier` (a file: URL) if the parent had loaded it, by import or by require. */
export function inheritedNamespace(specifier: string): Namespace | undefined {
  try {
    const namespace = esmLoadCache()?.get(specifier)?.module?.getNamespace();
    if (namespace) return namespace;
  } catch {
    // Not linked yet, or another Node's internals: try CommonJS below.
  }
  if (!specifier.startsWith('file:')) return undefined;
  const loaded = requireHere.cache[fileURLToPath(specifier)];
  if (!loaded?.loaded) return undefined;
  const exports = loaded.exports as unknown;
  // As import() shows a CommonJS module: its exports, and the whole as default.
  return exports !== null && typeof exports === 'object' ? { ...(exports as Namespace), default: exports } : { default: exports };
}
