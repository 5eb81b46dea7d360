/**
 * Whether this Node can fork itself safely, and the one-line warning when it
 * cannot. Forking relies on how Node lays out V8's heap and libuv's loop,
 * which was checked on the majors listed here only; anything else boots
 * fresh Node for every child, as before.
 */
const CHECKED_MAJORS = new Set([20, 22, 24]);
let warned = false;
let canaryFailure: string | null = null;

/** Why forking is off here, or null when it is on. */
export function forkUnsupportedReason(): string | null {
  if (process.platform !== 'linux') return `fork() is used on Linux only (this is ${process.platform})`;
  const major = Number(process.versions.node.split('.')[0]);
  if (!CHECKED_MAJORS.has(major)) return `fork() was not checked on Node ${major}`;
  return canaryFailure;
}

/** Environment variable set by `multiproc app.ts` to the pid of the program it runs fork-ready. */
export const FORK_READY_ENV = 'MULTIPROC_FORK_READY';

/**
 * The Node flags of a fork-ready program: V8 on the main thread alone (one
 * platform worker, see zygote.ts for why not four), and Node's internal
 * modules, for the one internal call a forked child needs: clearing the
 * async context stack its inherited JavaScript stack left behind.
 */
export const FORK_READY_FLAGS = ['--single-threaded', '--v8-pool-size=1', '--expose-internals'] as const;

/**
 * The flags `multiproc PROGRAM` adds unless given `--lazy`: they make the
 * program's startup slower and each fork cheaper (fork-ready-command.ts
 * says how). A child booted with spawn does not get them: they would only
 * slow its start.
 */
export const FAST_FORK_FLAGS = ['--no-lazy', '--use-largepages=silent'] as const;

/**
 * Whether this very process was started fork-ready by `multiproc app.ts`
 * (single-threaded V8, so a fork lacks no thread it needs): then the fork
 * start method forks the program itself.
 */
export function programIsForkReady(): boolean {
  return (
    process.env[FORK_READY_ENV] === String(process.pid) &&
    FORK_READY_FLAGS.every((flag) => process.execArgv.includes(flag)) &&
    forkUnsupportedReason() === null
  );
}

/**
 * Read at import: it is a fact of how this process started (a later
 * NODE_OPTIONS is its children's), and forked children inherit the answer.
 */
const HOOKS_ON_THREAD = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((flag) =>
  /^--(import|loader|experimental-loader)\b/.test(flag),
);

/**
 * Whether this process loads modules through hooks on a thread of their own
 * (module.register: `--import tsx`, `--loader`). A forked child lacks that
 * thread, so it cannot import a module its parent did not load.
 */
export function loaderHooksOnThread(): boolean {
  return HOOKS_ON_THREAD;
}

/** What a forked child says when it is asked for a module its parent never loaded (see loaderHooksOnThread). */
export const NEW_IMPORT_REFUSAL =
  'a forked child cannot load modules its parent did not load while a module loader runs its hooks on a thread ' +
  "(node --import tsx); import the module in the parent (or list it in setForkserverPreload([...])), or run compiled JS with plain node";

const afterForkHooks: Array<() => void> = [];

/**
 * Registers what a child forked from this program must drop of the
 * program's state (Python's util.register_after_fork): registries of
 * processes that are the parent's, not the child's.
 */
export function registerAfterFork(hook: () => void): void {
  afterForkHooks.push(hook);
}

/** Runs the registered after-fork hooks, in a child forked from this program. */
export function runAfterForkHooks(): void {
  for (const hook of afterForkHooks) hook();
}

/** Records that a zygote's canary child failed: no more forking in this program. */
export function recordCanaryFailure(reason: string): void {
  canaryFailure = `the fork canary failed: ${reason}`;
}

/** Says once per program that children are booted instead of forked, and why. */
export function warnForkFallback(reason: string): void {
  if (warned) return;
  warned = true;
  process.emitWarning(`multiproc: children boot a fresh Node instead of forking (${reason})`, {
    code: 'MULTIPROC_FORK_FALLBACK',
  });
}

/** How the current process was made: the main process, a booted Node, or a fork of a zygote. */
export type ProcessOrigin = 'main' | 'booted' | 'forked';
let origin: ProcessOrigin = 'main';

/** How the current process was made; 'forked' children inherited memory, 'booted' ones imported their modules anew. */
export function processOrigin(): ProcessOrigin {
  return origin;
}

export function setProcessOrigin(value: ProcessOrigin): void {
  origin = value;
}
