/**
 * `multiproc app.ts [args…]`: runs a program fork-ready, so that the fork
 * start method forks the program itself (popen-self-fork.ts). It replaces
 * itself (execv, same pid, no process in between) with
 * `node FORK_READY_FLAGS FAST_FORK_FLAGS [--import tsx] app.ts args…` (see
 * fork-support.ts): single-threaded V8 compiles and collects on the main
 * thread, so a forked child lacks no thread it needs. `--no-lazy` compiles
 * every function once, in the program, as it is loaded: otherwise each child
 * compiles, for itself, every function it runs that the program never ran
 * (a pool worker's whole side: ~40-60% of a forked worker's CPU before its
 * first result). `--use-largepages=silent` moves Node's own code onto 2 MB
 * pages where the kernel offers them (transparent huge pages): a fork then
 * shares it through a dozen page-table entries, where each child otherwise
 * faulted in its own mappings of the code it ran (~130 faults a child;
 * 64 forked children together took 13% less time); it costs the program's
 * startup ~30 ms, once. `multiproc --lazy app.ts` leaves both out, for a
 * program whose startup matters more than its forks. `.ts` files get tsx's loader unless
 * the command was given one. Where forking is off (not Linux, an unchecked Node),
 * the program runs as usual, with fork emulated, after a one-line warning.
 */
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { execProgram, withPackedHeapPreload } from './fork-native.ts';
import { FAST_FORK_FLAGS, FORK_READY_ENV, FORK_READY_FLAGS, forkUnsupportedReason, loaderHooksOnThread } from './fork-support.ts';
import { childExecArgv } from './vehicle-os-process.ts';

const TYPESCRIPT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const USAGE =
  'usage: multiproc [--lazy] PROGRAM [ARGS...]   (runs PROGRAM, .js or .ts, fork-ready)\n' +
  '  --lazy   start faster, fork slower: compile functions on first call, as node does,\n' +
  '           instead of all at load, and keep Node\'s code on small pages\n';

/** The command's entry (bin/multiproc.mjs); `argv` is the program and its arguments, after the command's options. */
export function main(argv: string[]): void {
  const lazy = argv[0] === '--lazy';
  const [program, ...args] = lazy ? argv.slice(1) : argv;
  if (program !== undefined && program.startsWith('-') && program !== '--help' && program !== '-h') {
    process.stderr.write(`multiproc: unknown option ${program}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (program === undefined || program === '--help' || program === '-h') {
    process.stderr.write(USAGE);
    process.exitCode = program === undefined ? 2 : 0;
    return;
  }
  const file = resolve(program);
  if (!existsSync(file)) {
    process.stderr.write(`multiproc: no such program: ${program}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const loader = TYPESCRIPT.has(extname(file)) && !loaderHooksOnThread() ? ['--import', 'tsx'] : [];
  const reason = forkUnsupportedReason();
  const flags = reason === null ? [...FORK_READY_FLAGS, ...(lazy ? [] : FAST_FORK_FLAGS)] : [];
  if (reason === null) {
    process.env[FORK_READY_ENV] = String(process.pid);
    // Taken out of the environment again by the library itself, as it loads.
    const preload = withPackedHeapPreload(process.env.LD_PRELOAD);
    if (preload !== undefined) process.env.LD_PRELOAD = preload;
  } else process.stderr.write(`multiproc: running ${program} without real fork (${reason})\n`);
  execProgram(process.execPath, [process.execPath, ...flags, ...childExecArgv(), ...loader, file, ...args]);
}
