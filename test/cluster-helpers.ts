// What the cluster tests share: a Redis to talk to, and `multiproc worker` processes started through the CLI.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const TASKS = 'test/fixtures/cluster-tasks.ts';

/** A queue name no other test (or engineer) uses. */
export function freshQueue(label: string): string {
  return `mp-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Polls `condition` every 20 ms for up to `ms`; throws naming `what` if it never holds. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function pings(url: string): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export const hasRedisServer = spawnSync('redis-server', ['--version']).status === 0;

/** A redis-server of the test's own on a loopback port, without persistence: a restart loses everything, as a crash would. */
export class OwnRedis {
  private child: ChildProcess | null = null;
  constructor(
    readonly port: number,
    /** requirepass, or null for none. */
    readonly password: string | null = null,
  ) {}

  get url(): string {
    return this.password === null ? `redis://127.0.0.1:${this.port}` : `redis://:${this.password}@127.0.0.1:${this.port}`;
  }

  static async start(password: string | null = null): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort(), password);
    await redis.start();
    return redis;
  }

  async start(): Promise<void> {
    const auth = this.password === null ? [] : ['--requirepass', this.password];
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...auth], {
      stdio: 'ignore',
    });
    await waitFor(() => pings(this.url), `redis-server on port ${this.port} to answer`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
}

/**
 * The Redis URL for tests: REDIS_URL, else the machine's Redis at
 * 127.0.0.1:6379, else a redis-server started here; or why there is none.
 */
export async function testRedis(): Promise<{ url: string; own: OwnRedis | null } | { skip: string }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, own: null };
  if (await pings('redis://127.0.0.1:6379')) return { url: 'redis://127.0.0.1:6379', own: null };
  if (hasRedisServer) {
    const own = await OwnRedis.start();
    return { url: own.url, own };
  }
  return { skip: 'no Redis: REDIS_URL is not set, nothing answers at 127.0.0.1:6379, and redis-server is not installed' };
}

/** A `multiproc worker` process, started through bin/multiproc.mjs as users start it. */
export class WorkerProcess {
  output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  poolPids: number[] = [];

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (data) => (this.output += data));
    child.stderr!.on('data', (data) => (this.output += data));
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Runs the command; `started` waits for its start line (else resolves at once). */
  static spawn(args: string[], started = true): Promise<WorkerProcess> & { worker: WorkerProcess } {
    // The worker imports the TypeScript fixture, so it runs with tsx as a TypeScript project's workers would.
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/multiproc.mjs', 'worker', ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(child);
    const ready = (async () => {
      if (started) {
        await waitFor(() => /multiproc worker started/.test(worker.output) || child.exitCode !== null, 'the worker to start');
        const match = /poolPids=([\d,]+)/.exec(worker.output);
        if (!match) throw new Error(`the worker did not start:\n${worker.output}`);
        worker.poolPids = match[1].split(',').map(Number);
      }
      return worker;
    })();
    return Object.assign(ready, { worker });
  }

  /** Starts a worker on `queue` running the test tasks. */
  static start(url: string, queue: string, extra: string[] = []): Promise<WorkerProcess> {
    return WorkerProcess.spawn(['--connection', url, '--queue', queue, '--module', TASKS, '--processes', '1', '--status-interval', '0', ...extra]);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Deletes a test queue's keys, so that tests leave nothing in a shared Redis. */
export async function removeQueue(url: string, name: string): Promise<void> {
  const queue = new Queue(name, { connection: { url } });
  try {
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
  }
}
