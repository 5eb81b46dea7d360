/**
 * Functions cross the cluster as (module, export name), the module given
 * relative to the project root (the nearest directory with a package.json),
 * so that the same project checked out at another path on another machine
 * resolves it. No source ever travels: a worker only looks names up in the
 * modules it was started with.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { referenceFunction } from '../transfer/function-reference.ts';
import { importModule } from '../transfer/function-resolver.ts';

/** A function as a worker finds it. */
export interface TaskReference {
  /** Path relative to the project root, '/'-separated. */
  module: string;
  name: string;
}

/** The nearest directory at or above `start` that holds a package.json (else the filesystem root). */
export function projectRoot(start: string): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return dir;
    dir = parent;
  }
}

/** `file` as the key both sides use: relative to its project root, with '/' separators. */
export function moduleKey(file: string, root: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

const cache = new WeakMap<Function, TaskReference>();

/** Client side: how workers will find `fn`, or a TypeError that says why they cannot. */
export async function taskReference(fn: Function, method: string): Promise<TaskReference> {
  const cached = cache.get(fn);
  if (cached) return cached;
  const label = `${method}: function '${fn.name || '<anonymous>'}'`;
  const { url } = referenceFunction(fn, `${method}: function`);
  const file = url.startsWith('file:') ? fileURLToPath(url) : url.startsWith('/') ? url : null;
  if (!file) {
    throw new TypeError(`${label} has no module file; ClusterPool sends functions as (module, export name), so define it in a module and export it`);
  }
  const namespace = await importModule(url.startsWith('file:') ? url : `file://${file}`);
  const name = Object.keys(namespace).find((key) => namespace[key] === fn);
  if (name === undefined) {
    throw new TypeError(
      `${label} is not exported from ${file}; ClusterPool workers run only exported functions of the modules they were started with, so export it`,
    );
  }
  const reference = { module: moduleKey(file, projectRoot(path.dirname(file))), name };
  cache.set(fn, reference);
  return reference;
}
