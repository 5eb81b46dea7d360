// The shape of src/: no import cycles among the modules that load at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const TEST = fileURLToPath(new URL('./', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

// `import type` and `export type` are erased by the compiler, so they cannot
// make a cycle at run time; every other relative import or re-export can.
const RUNTIME_IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm;

function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(RUNTIME_IMPORT)].map((match) => path.resolve(path.dirname(file), match[1]));
}

function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'visiting') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

test('src/ has no import cycle', () => {
  const graph = new Map(sourceFiles(SRC).map((file) => [file, runtimeImports(file)]));
  assert.ok(graph.size > 20, `expected the library's modules under ${SRC}, found ${graph.size}`);
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.map((file) => path.relative(SRC, file)).join(' -> ')}`);
});

test('the cycle check finds a cycle when there is one', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
  ]);
  assert.deepEqual(findCycle(graph), ['a', 'b', 'c', 'a']);
});

test('the control channel has no public door: index.ts exports no accessor of it', async () => {
  const api = Object.keys(await import('../src/index.ts'));
  for (const name of ['controlChannel', 'childChannel', 'parentChannel', 'setParentChannel']) {
    assert.equal(api.includes(name), false, `index.ts exports ${name}`);
  }
});

test('shareable kinds are registered in one module, which only index.ts and the child entries import', () => {
  const files = sourceFiles(SRC);
  const kinds = path.join(SRC, 'shareable-kinds.ts');
  const importers = files.filter((file) => runtimeImports(file).includes(kinds)).map((file) => path.relative(SRC, file));
  assert.deepEqual(importers.sort(), ['child/child-main.ts', 'child/zygote-main.ts', 'index.ts']);
  const index = path.join(SRC, 'index.ts');
  assert.deepEqual(files.filter((file) => runtimeImports(file).includes(index)), [], 'a module imports index.ts');
  const child = path.join(SRC, 'child') + path.sep;
  const intoChild = files.filter((file) => !file.startsWith(child) && runtimeImports(file).some((target) => target.startsWith(child)));
  assert.deepEqual(intoChild, [], 'a library module imports child/');
  const registering = files.filter((file) => /^\s*registerShareable\(/m.test(readFileSync(file, 'utf8')));
  assert.deepEqual(registering.map((file) => path.relative(SRC, file)), ['shareable-kinds.ts']);
});

/** The names a public entry (index.ts, cluster/index.ts) exports, values and types. */
function publicNames(entry: string): Set<string> {
  const text = readFileSync(path.join(SRC, entry), 'utf8');
  const names = new Set<string>();
  for (const [, list] of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of list!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/).pop()!.trim();
      if (name) names.add(name);
    }
  }
  return names;
}

test('tests take public names from the public entries, not from internal modules', () => {
  const publicByName = new Map<string, string>();
  for (const entry of ['cluster/index.ts', 'index.ts']) for (const name of publicNames(entry)) publicByName.set(name, entry);
  assert.ok(publicByName.has('Process') && publicByName.has('ClusterPool'), 'read the public entries');
  const IMPORT = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+'((?:\.\.\/)+src\/[^']+)'/gm;
  const offences: string[] = [];
  const testFiles = sourceFiles(TEST).filter((file) => !file.includes(`${path.sep}scratch${path.sep}`));
  assert.ok(testFiles.length > 20, `expected the test files under ${TEST}`);
  for (const file of testFiles) {
    for (const [, , list, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = path.relative(SRC, path.resolve(path.dirname(file), specifier!));
      if (['index.ts', 'testing.ts', 'cluster/index.ts'].includes(target)) continue;
      for (const part of list!.split(',')) {
        const [imported] = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/);
        const entry = imported && publicByName.get(imported.trim());
        // The same name may be a different internal thing (the ring's own waitSync); only re-exports count.
        if (entry && reexports(entry, imported!.trim(), target)) {
          offences.push(`${path.relative(TEST, file)}: ${imported!.trim()} from src/${target} (public in src/${entry})`);
        }
      }
    }
  }
  assert.deepEqual(offences, []);
});

/** Whether public entry `entry` re-exports `name` from module `target` (paths relative to src/). */
function reexports(entry: string, name: string, target: string): boolean {
  const text = readFileSync(path.join(SRC, entry), 'utf8');
  for (const [, list, from] of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/g)) {
    const names = list!.split(',').map((part) => part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!.trim());
    if (names.includes(name) && path.relative(SRC, path.resolve(path.dirname(path.join(SRC, entry)), from!)) === target) return true;
  }
  return false;
}
