/**
 * Python's `Process.sentinel`: an object that `wait()` reports ready once the
 * process has ended. One per started process (the same object every time),
 * for a child handle (ended = exited and reaped, so `exitCode` is set) and
 * for the parent in a child (ended = its control channel closed, or its pid
 * gone). Before start(), and for the current process, there is none.
 */
import { readiness, type Readiness } from '../channels/wait-ready.ts';
import { ProcessNotStartedError } from '../errors.ts';
import { pidAlive } from '../platform/owner-liveness.ts';
import type { Popen } from './popen.ts';

/** What a sentinel watches: a started child, the parent (pid, and the promise of its end), or nothing (not started). */
export type SentinelSource = Popen | { pid: number; gone: Promise<void> } | null;

/** A started process's sentinel: `wait([p.sentinel])` returns it once the process has ended. */
export class ProcessSentinel {
  /** The process id the sentinel watches. */
  readonly pid: number;
  /** Whether this process's event loop has seen the end (then a child's exitCode is set). */
  readonly #ended: () => boolean;
  /** Whether the OS says it has ended, even if the event loop (blocked in waitSync) has not seen it yet. */
  readonly #endedNow: () => boolean;
  readonly #listeners = new Set<() => void>();

  /** @internal Use `process.sentinel`. */
  constructor(pid: number, gone: Promise<unknown>, ended: () => boolean, endedNow: () => boolean) {
    this.pid = pid;
    this.#ended = ended;
    this.#endedNow = endedNow;
    void gone.then(() => {
      for (const notify of [...this.#listeners]) notify();
    });
  }

  /** @internal How wait() watches the process: no futex word, so a notification (async) or a test per slice (sync). */
  [readiness](): Readiness {
    return {
      ready: this.#ended,
      readySync: () => this.#ended() || this.#endedNow(),
      subscribe: (notify) => {
        this.#listeners.add(notify);
        return () => this.#listeners.delete(notify);
      },
    };
  }

  toString(): string {
    return `<ProcessSentinel pid=${this.pid}${this.#ended() ? ' ended' : ''}>`;
  }
}

const sentinels = new WeakMap<object, ProcessSentinel>();

/** The sentinel of `owner` (a Process), made on first use from `source`; ProcessNotStartedError without one. */
export function sentinelOf(owner: object, source: SentinelSource): ProcessSentinel {
  const known = sentinels.get(owner);
  if (known) return known;
  if (!source) throw new ProcessNotStartedError('process not started: a Process has a sentinel once start() was called (the current process has none)');
  let sentinel: ProcessSentinel;
  if ('gone' in source) {
    let over = false;
    const gone = source.gone.then(() => void (over = true));
    const { pid } = source;
    sentinel = new ProcessSentinel(pid, gone, () => over, () => !pidAlive(pid));
  } else {
    const popen = source;
    sentinel = new ProcessSentinel(popen.pid, popen.exited, () => popen.exitCode !== null, () => popen.hasExited());
  }
  sentinels.set(owner, sentinel);
  return sentinel;
}
