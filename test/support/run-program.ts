// Runs a TypeScript program as its own process tree and collects its output,
// for behaviour only visible from outside: stderr reports, exit codes, orphans.
import { spawn } from 'node:child_process';

export interface ProgramResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ProgramOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Send stderr into the stdout pipe, so that `stdout` holds both in the order written. */
  mergeStderr?: boolean;
  /** Run it fork-ready, through the package's command (`multiproc FILE`), instead of under tsx. */
  forkReady?: boolean;
  /** Node's own flags, before tsx's loader (not with `forkReady`). */
  nodeOptions?: string[];
  /** With `forkReady`: the command's own options, before FILE (e.g. `--lazy`). */
  commandOptions?: string[];
}

const MULTIPROC_BIN = new URL('../../bin/multiproc.mjs', import.meta.url).pathname;

// The loader, not the tsx CLI: the CLI runs the program in a second process,
// and a signal sent to the CLI would not reach the program.
const TSX_LOADER = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

/** Starts `file` under tsx; `onStdout` sees the output so far and the pid (e.g. to kill it). */
export function runProgram(
  file: string,
  options: ProgramOptions = {},
  onStdout?: (stdoutSoFar: string, pid: number) => void,
): Promise<ProgramResult> {
  const { args = [], env = {}, mergeStderr = false, forkReady = false, commandOptions = [], nodeOptions = [] } = options;
  return new Promise((resolve, reject) => {
    const command = forkReady
      ? [process.execPath, MULTIPROC_BIN, ...commandOptions, file, ...args]
      : [process.execPath, ...nodeOptions, '--import', TSX_LOADER, file, ...args];
    const child = mergeStderr
      ? spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', ...command], { stdio: ['ignore', 'pipe', 'pipe'], env: envFor(env) })
      : spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: envFor(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onStdout?.(stdout, child.pid!);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function envFor(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  // The test runner's marker would make a nested program report to it.
  delete env.NODE_TEST_CONTEXT;
  return env;
}
