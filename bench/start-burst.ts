/**
 * Issue 9's figures: processes started together, a cold Pool(8), the speed
 * of code in a forked child, and the memory of idle forked children. Each
 * case runs in a fresh process (bench/start-burst-case.ts, or
 * start_burst_py.py for Python), ours and Python's alternately, and the
 * median of 3 runs is kept for each. Our case runs as issue 9 measured it,
 * as a user's compiled program under plain node (transpiled here into
 * bench/.compiled/), and, where the runner changes what a child is, also
 * under tsx.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { BenchRow } from './bench-row.ts';

const RUNS = 5;
const CASE_SOURCE = fileURLToPath(new URL('./start-burst-case.ts', import.meta.url));
const COMPILED_DIR = new URL('./.compiled/', import.meta.url);
/** Inside the package, so that its `import ... from 'multiproc'` finds the package's own dist/. */
const OURS = fileURLToPath(new URL('start-burst-case.mjs', COMPILED_DIR));

function compileCase(): void {
  const { outputText } = ts.transpileModule(readFileSync(CASE_SOURCE, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  mkdirSync(COMPILED_DIR, { recursive: true });
  writeFileSync(OURS, outputText);
}
const PYTHON = fileURLToPath(new URL('./start_burst_py.py', import.meta.url));
/** The package's command: `multiproc FILE` runs FILE fork-ready, so fork is a real fork of it. */
const MULTIPROC_BIN = fileURLToPath(new URL('../bin/multiproc.mjs', import.meta.url));

/** A case takes seconds; one that hangs is killed and fails the run, naming itself. */
const CASE_TIMEOUT_MS = 300_000;

function once(command: string, args: string[]): number {
  try {
    const output = execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: CASE_TIMEOUT_MS, killSignal: 'SIGKILL' });
    return JSON.parse(output) as number;
  } catch (error) {
    throw new Error(`bench case failed or hung (${CASE_TIMEOUT_MS} ms): ${command} ${args.join(' ')}`, { cause: error });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** How our case is run: compiled under plain node, fork-ready (`multiproc FILE`), or its source under tsx. */
type Runner = 'node' | 'fork-ready' | 'tsx';

/** Median of RUNS alternating runs of our case and Python's (if given). */
function measure(ours: string[], python?: string[], runner: Runner = 'node'): { ours: number; python: number } {
  const mine: number[] = [];
  const theirs: number[] = [];
  const command = { node: [OURS], 'fork-ready': [MULTIPROC_BIN, OURS], tsx: ['--import', 'tsx', CASE_SOURCE] }[runner];
  for (let i = 0; i < RUNS; i++) {
    mine.push(once(process.execPath, [...command, ...ours]));
    if (python) theirs.push(once('python3', [PYTHON, ...python]));
  }
  return { ours: median(mine), python: python ? median(theirs) : NaN };
}

export async function runStartBurstBench(): Promise<BenchRow[]> {
  compileCase();
  const rows: BenchRow[] = [];
  for (const count of [8, 64]) {
    for (const method of ['fork', 'forkserver'] as const) {
      const { ours, python } = measure(['burst', method, String(count)], ['burst', method, String(count)]);
      rows.push({ name: `${count} processes started together, then joined (${method}${method === 'fork' ? ', emulated' : ''})`, unit: 'ms', ours, anchor: python, anchorName: `Python ${method}`, higherIsBetter: false });
    }
  }
  // Under tsx, emulated fork boots its children (its loader's thread would be missing in a forked child).
  for (const method of ['fork', 'forkserver'] as const) {
    const { ours, python } = measure(['burst', method, '8'], ['burst', method, '8'], 'tsx');
    rows.push({ name: `8 processes started together, then joined (${method}${method === 'fork' ? ', emulated' : ''}, under tsx)`, unit: 'ms', ours, anchor: python, anchorName: `Python ${method}`, higherIsBetter: false });
  }
  {
    const { ours, python } = measure(['serial', 'fork', '50'], ['serial', 'fork', '50'], 'fork-ready');
    rows.push({ name: 'real fork start+join, back to back (fork-ready program, multiproc FILE)', unit: 'ms', ours, anchor: python, anchorName: 'Python fork', higherIsBetter: false });
  }
  for (const count of [8, 64]) {
    const { ours, python } = measure(['burst', 'fork', String(count)], ['burst', 'fork', String(count)], 'fork-ready');
    rows.push({ name: `${count} processes started together, then joined (fork, fork-ready program)`, unit: 'ms', ours, anchor: python, anchorName: 'Python fork', higherIsBetter: false });
  }
  for (const method of ['fork', 'forkserver'] as const) {
    const { ours, python } = measure(['pool', method], ['pool', 'fork']);
    rows.push({ name: `cold Pool(8) + map of 100 tiny items (${method}${method === 'fork' ? ', emulated' : ''})`, unit: 'ms', ours, anchor: python, anchorName: 'Python fork', higherIsBetter: false });
  }
  for (const method of ['fork', 'forkserver'] as const) {
    const { ours, python } = measure(['prepared-pool', method], ['pool', 'fork']);
    rows.push({ name: `Pool(8) + map of 100 tiny items after await ctx.prepare() (${method}${method === 'fork' ? ', emulated' : ''})`, unit: 'ms', ours, anchor: python, anchorName: 'Python fork', higherIsBetter: false });
  }
  {
    const { ours, python } = measure(['pool', 'fork'], ['pool', 'fork'], 'fork-ready');
    rows.push({ name: 'cold Pool(8) + map of 100 tiny items (fork, fork-ready program)', unit: 'ms', ours, anchor: python, anchorName: 'Python fork', higherIsBetter: false });
  }
  const forked = measure(['loop', 'forkserver']).ours;
  const spawned = measure(['loop', 'spawn']).ours;
  rows.push({ name: 'CPU-bound loop in a zygote-forked child (vs a spawned child)', unit: 'ms', ours: forked, anchor: spawned, anchorName: 'spawned child', higherIsBetter: false });
  const forkedPss = measure(['pss', 'forkserver', '32']).ours / 1024;
  const spawnedPss = measure(['pss', 'spawn', '32']).ours / 1024;
  rows.push({ name: 'total PSS of 32 idle zygote-forked children (vs 32 spawned)', unit: 'MiB', ours: forkedPss, anchor: spawnedPss, anchorName: '32 spawned children', higherIsBetter: false });
  return rows;
}
