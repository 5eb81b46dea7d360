/**
 * `multiproc worker`: runs a cluster worker on this machine. bin/multiproc.mjs
 * routes `multiproc worker …` here.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuCount } from '../platform/cpu-count.ts';
import { ClusterWorker, type ClusterWorkerOptions } from './cluster-worker.ts';

const USAGE = `usage: multiproc worker --queue NAME --module FILE [--module FILE …] [options]

Takes jobs of ClusterPool calls from a BullMQ queue on Redis and runs them on a
local pool of processes. Only exported functions of the --module files run.

  --connection URL       Redis URL (redis:// or rediss://); default $REDIS_URL or redis://127.0.0.1:6379
  --queue NAME           queue name, as given to new ClusterPool({ queue })
  --module FILE          module whose exports may run, relative to the current directory (repeatable)
  --processes N          processes of the local pool; default: number of CPUs
  --concurrency N        chunks held at once; default: adaptive, 2 × processes for long
                         chunks up to 32 × processes for short ones, so that a pool
                         process never waits on Redis
  --prefix PREFIX        BullMQ key prefix; default bull
  --lock-duration MS     job lock; a dead worker's jobs move to others after about this long; default 30000
  --grace MS             on SIGTERM, time jobs in progress may take before they are handed back; default 30000
  --connect-timeout MS   give up when Redis is unreachable this long at start; default 10000
  --status-interval MS   print a status line this often, 0 for never; default 10000
  --help                 show this help

TypeScript modules need a loader on Node < 23.6: NODE_OPTIONS="--import tsx" npx multiproc worker …`;

class UsageError extends Error {}

function integer(value: string | undefined, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer of at least ${min}, got '${value}'`);
  }
  return n;
}

/** Parses the command line into worker options; UsageError names what is wrong. */
export function parseWorkerArgs(argv: string[], cwd: string, env: NodeJS.ProcessEnv): ClusterWorkerOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        connection: { type: 'string' },
        queue: { type: 'string' },
        module: { type: 'string', multiple: true },
        processes: { type: 'string' },
        concurrency: { type: 'string' },
        prefix: { type: 'string' },
        'lock-duration': { type: 'string' },
        grace: { type: 'string' },
        'connect-timeout': { type: 'string' },
        'status-interval': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const connection = values.connection ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(connection)) throw new UsageError(`--connection must be a redis:// or rediss:// URL, got '${connection}'`);
  if (!values.queue) throw new UsageError('--queue is required: the queue name the ClusterPool uses');
  if (values.queue.includes(':')) throw new UsageError(`--queue must not contain ':', got '${values.queue}'`);
  if (!values.module || values.module.length === 0) {
    throw new UsageError('--module is required: the workers run only exported functions of the modules named here');
  }
  const modules = values.module.map((file) => {
    const absolute = path.resolve(cwd, file);
    if (!existsSync(absolute)) throw new UsageError(`--module ${file}: no such file (${absolute})`);
    return absolute;
  });
  const processes = integer(values.processes, 'processes', cpuCount(), 1);
  return {
    connection,
    queue: values.queue,
    prefix: values.prefix ?? 'bull',
    modules,
    processes,
    concurrency: values.concurrency === undefined ? null : integer(values.concurrency, 'concurrency', 0, 1),
    lockDuration: integer(values['lock-duration'], 'lock-duration', 30_000, 1000),
    grace: integer(values.grace, 'grace', 30_000, 0),
    connectTimeout: integer(values['connect-timeout'], 'connect-timeout', 10_000, 1),
    statusInterval: integer(values['status-interval'], 'status-interval', 10_000, 0),
    log: (line) => console.log(line),
  };
}

/** Entry point: runs until SIGTERM or SIGINT (a second one hands the jobs in progress back at once). */
export async function main(argv: string[]): Promise<void> {
  let options: ClusterWorkerOptions | 'help';
  try {
    options = parseWorkerArgs(argv, process.cwd(), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`multiproc worker: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(USAGE);
    return;
  }
  // Listening before the start: a SIGTERM that comes while connecting must still stop cleanly.
  let worker: ClusterWorker | null = null;
  let stopRequested: NodeJS.Signals | null = null;
  const stop = (signal: NodeJS.Signals) => {
    options.log(`multiproc worker: ${signal}: finishing the jobs in progress (up to ${options.grace} ms), then handing the rest back`);
    worker!.stop().then(
      () => {
        options.log('multiproc worker stopped');
        process.exit(0);
      },
      (error: Error) => {
        console.error(`multiproc worker: error while stopping: ${error.message}`);
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => (worker ? stop(signal) : (stopRequested = signal));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    worker = await ClusterWorker.start(options);
  } catch (error) {
    console.error(`multiproc worker: cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  options.log(
    `multiproc worker started: pid=${process.pid} queue=${options.queue} processes=${options.processes} ` +
      `modules=${worker.moduleKeys.join(',')} root=${worker.projectRoot} poolPids=${worker.poolPids.join(',')}`,
  );
  if (stopRequested) stop(stopRequested);
}
