// A throwaway user project outside the repository, as a new user has it:
// "type": "module", node_modules/multiproc linked to this package (whose
// exports point at dist/, so build first), tsx beside it. Testing only
// inside the repository is what let the entry-module lookup defect slip.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TSX_CLI = join(REPO, 'node_modules/tsx/dist/cli.mjs');
const TSC = join(REPO, 'node_modules/typescript/bin/tsc');

export interface ScratchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ScratchProject extends Disposable {
  readonly dir: string;
  /** Writes `files` (path relative to the project → content). */
  write(files: Record<string, string>): void;
  /** Runs `node FILE ARGS` on a JavaScript file of the project as written. */
  node(file: string, args?: string[]): Promise<ScratchRun>;
  /** Runs `npx tsx FILE ARGS`, as a user would. */
  tsx(file: string, args?: string[]): Promise<ScratchRun>;
  /** Compiles the project's .ts files with tsc into out/ (once) and runs out/FILE.js with plain node. */
  compileAndNode(file: string, args?: string[], nodeArgs?: string[]): Promise<ScratchRun>;
  /** Compiles the project's .ts files with tsc into out/ (once); returns the path of FILE's output. */
  compile(file: string): string;
  /** Runs `npx multiproc FILE ARGS` (the package's command, from node_modules/.bin). */
  multiproc(file: string, args?: string[]): Promise<ScratchRun>;
}

/** How long a scratch program may run before it counts as hung. */
const HANG_BOUND_MS = 180_000;

function run(command: string, args: string[], cwd: string): Promise<ScratchRun> {
  const childEnv = { ...process.env };
  // The test runner's marker would make a nested program report to it.
  delete childEnv.NODE_TEST_CONTEXT;
  delete childEnv.NODE_OPTIONS;
  return new Promise((resolve, reject) => {
    // Its own process group, so that a program that hangs goes with everything it started.
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    // Generous, on a shared machine: a hang fails this test now, not at the runner's 20-minute limit.
    const bound = setTimeout(() => {
      stderr += `\n(scratch-project: ${command} ${args.join(' ')} was still running after ${HANG_BOUND_MS} ms: killed)`;
      process.kill(-child.pid!, 'SIGKILL');
    }, HANG_BOUND_MS);
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ code, stdout, stderr });
    });
  });
}

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    outDir: 'out',
    rootDir: '.',
    sourceMap: true,
    strict: false,
    skipLibCheck: true,
    types: ['node'],
    typeRoots: [join(REPO, 'node_modules/@types')],
  },
  include: ['*.ts', '*.mts', '*.cts'],
};

/** Makes the project; `using` removes it. */
export function scratchProject(): ScratchProject {
  const dir = mkdtempSync(join(tmpdir(), 'mp-scratch-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(REPO, join(dir, 'node_modules/multiproc'), 'dir');
  symlinkSync(join(REPO, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  // What npm install makes of the package's "bin".
  mkdirSync(join(dir, 'node_modules/.bin'));
  symlinkSync('../multiproc/bin/multiproc.mjs', join(dir, 'node_modules/.bin/multiproc'));
  let compiled = false;
  const compile = (file: string): string => {
    if (!compiled) {
      try {
        execFileSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
      } catch (error) {
        throw new Error(`tsc failed in the scratch project:\n${(error as { stdout?: string }).stdout}`);
      }
      compiled = true;
    }
    return join('out', file.replace(/\.(m|c)?ts$/, (_, kind) => `.${kind ?? ''}js`));
  };
  return {
    dir,
    write(files) {
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), content);
      }
    },
    node: (file, args = []) => run(process.execPath, [file, ...args], dir),
    tsx: (file, args = []) => run(process.execPath, [TSX_CLI, file, ...args], dir),
    async compileAndNode(file, args = [], nodeArgs = []) {
      return run(process.execPath, [...nodeArgs, compile(file), ...args], dir);
    },
    compile,
    multiproc: (file, args = []) => run('npx', ['--no-install', 'multiproc', file, ...args], dir),
    [Symbol.dispose]() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
