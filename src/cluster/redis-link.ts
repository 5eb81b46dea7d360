/**
 * One ioredis connection, watched. ioredis reconnects forever and BullMQ
 * makes commands wait for it, which would turn an unreachable Redis into a
 * hang; the link turns "not connected for `connectTimeout` ms" into a
 * ClusterConnectionError that its owner fails its waiting calls with.
 */
import { describe } from '../checks.ts';
import { Redis, type RedisOptions } from 'ioredis';
import { ClusterConnectionError } from '../errors.ts';

/** Where Redis is: a `redis://` / `rediss://` URL, or ioredis options (host, port, password, tls, db, …). */
export type RedisConnection = string | RedisOptions;

/** Throws a TypeError naming `name` unless `value` is a Redis URL or an ioredis options object. */
export function checkConnection(value: unknown, name: string): asserts value is RedisConnection {
  if (typeof value === 'string') {
    if (!/^rediss?:\/\//.test(value)) throw new TypeError(`${name} must be a redis:// or rediss:// URL, got '${value}'`);
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${name} must be a redis:// URL or an ioredis options object, got ${describe(value)}`);
  }
}

export class RedisLink {
  readonly redis: Redis;
  private downSince: number | null = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private lastError: Error | null = null;
  private failure: ClusterConnectionError | null = null;
  private readonly listeners = new Set<(error: ClusterConnectionError) => void>();
  private readonly extras = new Set<Redis>();

  constructor(
    connection: RedisConnection,
    /** Milliseconds Redis may stay unreachable, at start or later, before waiting calls fail. */
    readonly connectTimeout: number,
  ) {
    // BullMQ requires maxRetriesPerRequest: null: its blocking commands must outlive reconnects.
    const options: RedisOptions = { maxRetriesPerRequest: null, connectTimeout: Math.max(1, Math.min(connectTimeout, 10_000)) };
    this.redis = typeof connection === 'string' ? new Redis(connection, options) : new Redis({ ...connection, ...options });
    this.redis.on('ready', () => {
      this.downSince = null;
      this.failure = null;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    });
    // Without a listener ioredis prints every failed attempt; the link reports them once, in its error.
    this.redis.on('error', (error: Error) => (this.lastError = error));
    this.redis.on('close', () => this.markDown());
    this.markDown();
  }

  /** ioredis options of this connection, for the connections BullMQ makes itself (QueueEvents, blocking clients). */
  get options(): RedisOptions {
    return { ...this.redis.options };
  }

  /** host:port (or path) of the server, for messages. */
  get address(): string {
    const { host, port, path } = this.redis.options;
    return path ?? `${host}:${port}`;
  }

  /** The error once Redis has been unreachable for longer than connectTimeout; null while connected or still within it. */
  get unreachable(): ClusterConnectionError | null {
    return this.failure;
  }

  /** Calls `listener` each time Redis has been unreachable for connectTimeout. */
  onUnreachable(listener: (error: ClusterConnectionError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once connected; rejects with ClusterConnectionError after connectTimeout. */
  async whenReady(): Promise<void> {
    if (this.redis.status === 'ready') return;
    if (this.failure) throw this.failure;
    await new Promise<void>((resolve, reject) => {
      const stop = this.onUnreachable((error) => {
        this.redis.off('ready', ready);
        reject(error);
      });
      const ready = () => {
        stop();
        resolve();
      };
      this.redis.once('ready', ready);
    });
  }

  /**
   * A further connection with this one's options, closed by close(): for
   * BullMQ's own blocking readers (QueueEvents), whose connections BullMQ
   * cannot drop while Redis is unreachable, so they would retry forever and
   * keep the program alive.
   */
  duplicate(): Redis {
    const extra = this.redis.duplicate();
    extra.on('error', () => {}); // reported once, through this link's own connection
    this.extras.add(extra);
    // BullMQ duplicates a connection it is given for its blocking reads; those
    // copies must be closed by close() too.
    const duplicateOf = extra.duplicate.bind(extra);
    extra.duplicate = ((...args: Parameters<Redis['duplicate']>) => {
      const copy = duplicateOf(...args);
      copy.on('error', () => {});
      this.extras.add(copy);
      return copy;
    }) as Redis['duplicate'];
    return extra;
  }

  /** Drops the connections at once (no QUIT round trip, which would wait for an unreachable server). */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
    this.redis.disconnect();
    for (const extra of this.extras) extra.disconnect();
    this.extras.clear();
  }

  private markDown(): void {
    if (this.timer || this.redis.status === 'end') return;
    this.downSince ??= Date.now();
    const since = this.downSince;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.redis.status === 'ready') return;
      const reason = this.lastError ? `: ${this.lastError.message}` : '';
      this.failure = new ClusterConnectionError(
        `cannot reach Redis at ${this.address} for ${Date.now() - since} ms (connectTimeout ${this.connectTimeout} ms)${reason}`,
        this.lastError ? { cause: this.lastError } : undefined,
      );
      for (const listener of [...this.listeners]) listener(this.failure);
      // Still down: keep reporting, so that calls made later fail too rather than wait.
      this.downSince = Date.now();
      this.markDown();
    }, this.connectTimeout);
    // The watchdog alone must not keep a program alive.
    this.timer.unref();
  }
}
