/**
 * The ES modules this process has loaded, read from Node's own module map.
 * That needs Node's internals (--expose-internals, a fork-ready flag): where
 * they are missing or shaped differently from what is read here, nothing is
 * found, and callers fall back to what they did before.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Namespace = Record<string, unknown>;

interface ModuleJob {
  module?: { getNamespace(): Namespace };
}

/** Node's ModuleLoader.loadCache: a Map from URL to the jobs for that URL (one per import type), whose get(url) gives the usual job. */
interface LoadCache {
  get(url: string): ModuleJob | undefined;
}

const requireHere = createRequire(import.meta.url);

/** Looked up once: without --expose-internals each look is a failed require that searches every node_modules up the tree. */
let loadCache: LoadCache | undefined | null = null;

/** Node's map of loaded ES modules, if this process may read it. */
export function esmLoadCache(): LoadCache | undefined {
  if (loadCache === null) {
    try {
      const loader = requireHere('internal/modules/esm/loader') as { getOrInitializeCascadedLoader(): { loadCache: LoadCache } };
      loadCache = loader.getOrInitializeCascadedLoader().loadCache;
    } catch {
      loadCache = undefined;
    }
  }
  return loadCache;
}

function* loadedNamespaces(cache: LoadCache): Iterable<[string, Namespace]> {
  // LoadCache.get takes a type; the Map's own iteration gives every URL's jobs.
  for (const [url, jobs] of Map.prototype.entries.call(cache) as Iterable<[string, Record<string, ModuleJob>]>) {
    for (const job of Object.values(jobs ?? {})) {
      try {
        const namespace = job?.module?.getNamespace();
        if (namespace) yield [url, namespace];
      } catch {
        // Not evaluated yet (a module still loading, the main one among them).
      }
    }
  }
}

/** Where `position` (0-based line and column, as V8 reports them) falls in `text`; -1 past its end. */
function offsetOf(text: string, position: { line: number; column: number }): number {
  let offset = 0;
  for (let line = 0; line < position.line; line++) {
    offset = text.indexOf('\n', offset) + 1;
    if (offset === 0) return -1;
  }
  return offset + position.column;
}

/**
 * The file: URL of the ES module that defines `fn`, found among the loaded
 * modules that export it; undefined if none does, or if this process cannot
 * list its modules. An exporting module is taken only if its file has `fn`'s
 * very source where V8 says `fn` is (the start of the function, or of its
 * parameters): a module that re-exports `fn` does not, and neither does a file
 * a loader transpiled (tsx), whose positions are of the transpiled code.
 */
export function definingModuleUrl(fn: Function, position: { line: number; column: number }): string | undefined {
  const cache = esmLoadCache();
  if (!cache) return undefined;
  const source = Function.prototype.toString.call(fn);
  const parameters = source.indexOf('(');
  for (const [url, namespace] of loadedNamespaces(cache)) {
    let text: string;
    try {
      // Object.values reads every binding: one not yet initialised throws.
      if (!url.startsWith('file:') || !Object.values(namespace).includes(fn)) continue;
      text = readFileSync(fileURLToPath(url), 'utf8');
    } catch {
      continue;
    }
    const at = offsetOf(text, position);
    if (at < 0) continue;
    if (text.startsWith(source, at) || (parameters > 0 && text.startsWith(source, at - parameters))) return url;
  }
  return undefined;
}
