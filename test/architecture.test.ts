// The shape of src/: no import cycles, imports only down the layers, no file over 400 lines,
// tests on the public entries, and a README Layout section that matches the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
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

test("the README's Layout section matches the tree: every path it names exists, every part of src/ has a row", () => {
  const root = path.join(SRC, '..');
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Layout');
  assert.ok(start >= 0, 'the README has a "## Layout" section');
  const next = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, next < 0 ? undefined : next);
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  const listed = new Set<string>();
  const problems: string[] = [];
  for (const row of rows) {
    const [, first = '', second = ''] = row.split('|');
    const paths = [...first.matchAll(/`([^`]+)`/g)].map(([, p]) => p!);
    for (const p of paths) {
      listed.add(p.replace(/\/$/, ''));
      try {
        readdirSync(path.join(root, p.endsWith('/') ? p : path.dirname(p)));
        if (!p.endsWith('/')) readFileSync(path.join(root, p));
      } catch {
        problems.push(`${p} is in the table but not in the tree`);
      }
    }
    // Files a folder's row names must be in that folder.
    const folder = paths.length === 1 && paths[0]!.endsWith('/') ? path.join(root, paths[0]!) : null;
    if (!folder || !folder.startsWith(SRC)) continue;
    const present = new Set(sourceFiles(folder).map((file) => path.relative(folder, file)));
    for (const [, name] of second.matchAll(/`([\w./-]+\.ts)`/g)) {
      if (![...present].some((file) => file === name || file.endsWith(`/${name}`))) problems.push(`${paths[0]}: ${name} is not in that folder`);
    }
  }
  for (const entry of readdirSync(SRC, { withFileTypes: true })) {
    const p = `src/${entry.name}`;
    if ((entry.isDirectory() || entry.name.endsWith('.ts')) && !listed.has(p)) problems.push(`${p} has no row in the table`);
  }
  assert.deepEqual(problems, []);
});

// The README's order of layers: a module may import its own layer or a lower one, never a higher one or a sibling.
const LAYERS: Record<string, number> = {
  'errors.ts': 0, 'checks.ts': 0, platform: 1, transfer: 2, sync: 3, shared: 4, channels: 5, process: 6,
  pool: 7, managers: 8, cluster: 8, 'shareable-kinds.ts': 9, 'context.ts': 10, 'index.ts': 11, 'testing.ts': 11, child: 12,
};

test('imports point down the layers the README names', () => {
  const top = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!;
  const upward: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = top(file);
    assert.ok(from in LAYERS, `src/${from} has no layer here: add it to LAYERS and to the README's Layout`);
    for (const target of runtimeImports(file)) {
      const to = top(target);
      if (to !== from && LAYERS[to]! >= LAYERS[from]!) upward.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no source file in src/ or native/ is over 400 lines', () => {
  const NATIVE = path.join(SRC, '..', 'native');
  const native = readdirSync(NATIVE).filter((name) => /\.(cc|h)$/.test(name)).map((name) => path.join(NATIVE, name));
  assert.ok(native.length > 5, `expected the native sources under ${NATIVE}`);
  const long = [...sourceFiles(SRC), ...native]
    .map((file) => ({ file: path.relative(path.join(SRC, '..'), file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
    .filter(({ lines }) => lines > 400);
  assert.deepEqual(long, [], 'split these by concern');
});

test("one exit-hook registry: only platform/exit-hooks.ts listens for this process's 'exit'", () => {
  const listening = sourceFiles(SRC)
    .filter((file) => /(?<![.\w])process\.(?:on|once|addListener|prependListener)\(\s*['"]exit['"]/.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(SRC, file));
  assert.deepEqual(listening, ['platform/exit-hooks.ts']);
});

test('one module of argument checks: only checks.ts defines describe() and the check… helpers it exports', () => {
  const checks = readFileSync(path.join(SRC, 'checks.ts'), 'utf8');
  const shared = [...checks.matchAll(/^export function (\w+)/gm)].map(([, name]) => name!);
  const copies: string[] = [];
  for (const file of sourceFiles(SRC)) {
    if (file === path.join(SRC, 'checks.ts')) continue;
    for (const [, name] of readFileSync(file, 'utf8').matchAll(/^(?:export )?function (\w+)/gm)) {
      if (shared.includes(name!)) copies.push(`${path.relative(SRC, file)}: ${name}`);
    }
  }
  assert.ok(shared.includes('describe') && shared.includes('parseWait'), 'read checks.ts');
  assert.deepEqual(copies, []);
});

test('futex-word protocols in one place: ring clients make no raw Atomics calls, sleepers are counted only by counted-wait.ts', () => {
  const clients = ['channels/queue.ts', 'channels/joinable-queue.ts', 'channels/simple-queue.ts', 'channels/connection.ts'];
  for (const client of clients) {
    assert.doesNotMatch(readFileSync(path.join(SRC, client), 'utf8'), /\bAtomics\./, `${client} reaches ring cells through shm-ring-cells.ts`);
  }
  const counting = sourceFiles(SRC)
    .filter((file) => /Atomics\.(?:add|sub)\([^;]*(?:SLEEPERS|sleepers)/.test(readFileSync(file, 'utf8')))
    .map((file) => path.relative(SRC, file));
  assert.deepEqual(counting, ['sync/counted-wait.ts']);
});

test('one revive idiom: every shareable class is registered as the class itself and revives through its static [revive]', async () => {
  const kinds = readFileSync(path.join(SRC, 'shareable-kinds.ts'), 'utf8');
  const registered = [...kinds.matchAll(/^registerShareable\(([^,]+),\s*([^)]+)\);/gm)].map(([, kind, how]) => ({ kind: kind!, how: how!.trim() }));
  assert.ok(registered.length > 15, 'read shareable-kinds.ts');
  const api = (await import('../src/index.ts')) as Record<string, unknown>;
  const { revive } = await import('../src/transfer/shareable.ts');
  for (const { kind, how } of registered) {
    if (!/^'multiproc\./.test(kind)) continue; // proxies and pool shared arguments are not classes of their own
    assert.match(how, /^[A-Z]\w*$/, `${kind} is registered as a class, not as a function`);
    assert.equal(typeof (api[how] as Record<symbol, unknown>)?.[revive], 'function', `${how} has a static [revive]`);
  }
});

test('importing the library loads no CommonJS package it needs only later (cli-progress, for a bar on a terminal)', () => {
  // Every child and every zygote imports the library: what it loads, each of them pays for.
  const probe =
    "import { createRequire } from 'node:module'; await import('multiproc');" +
    "const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/node_modules/'));" +
    'console.log(JSON.stringify(loaded));';
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const packages = new Set((JSON.parse(run.stdout) as string[]).map((f) => f.split('/node_modules/').at(-1)!.split('/')[0]));
  assert.deepEqual([...packages], ['node-gyp-build']);
});
