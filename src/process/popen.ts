/**
 * The two strategies behind Process.start(), as CPython's popen_*.py files:
 * a StartMethod decides what the child starts from (popen-fork.ts, which
 * forks a fork-ready program itself through popen-self-fork.ts,
 * popen-spawn.ts, popen-forkserver.ts); a Vehicle decides what the child is
 * (an OS process today: vehicle-os-process.ts; a worker thread later).
 */
import type { ControlChannel } from '../channels/control-channel.ts';
import type { LaunchPayload, StartMethodName } from './launch-payload.ts';

/** A started child as its parent sees it. */
export interface Popen {
  readonly pid: number;
  /** Python's convention: the exit status, or -N after signal N; null while running. */
  readonly exitCode: number | null;
  /** Settles with exitCode once the child has been reaped. */
  readonly exited: Promise<number>;
  /** True when the child has exited, even if it has not been reaped yet. */
  hasExited(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** Whether this child keeps the parent's event loop alive (non-daemon children do). */
  keepParentAlive(keep: boolean): void;
  /** Releases the parent's handles once the child has exited. */
  close(): void;
  /** The parent's end of the control channel (for library protocols such as the pool's). */
  readonly channel: ControlChannel;
}

export interface VehicleOptions {
  /** Modules the child imports before it is handed a payload (forkserver preload). */
  preload: string[];
  /** How many idle children to keep ready so that start() does not wait for Node to boot. */
  spares: number;
}

export interface Vehicle {
  launch(payload: LaunchPayload, options: VehicleOptions): Popen;
}

/** What Process.start() hands its start method. */
export interface StartRequest {
  /** The launch payload, built on demand: building it encodes the target, arguments and fields. */
  payload(): LaunchPayload;
  /** Runs the Process in this very process: what a child forked from the program does with its copy. */
  runHere(openChannel: () => ControlChannel): Promise<void>;
}

export interface StartMethod {
  readonly name: StartMethodName;
  launch(request: StartRequest): Popen;
  /**
   * Makes ready, without blocking the event loop, what launch() starts
   * children from (the zygote), so that the first launch() does not wait for
   * it; resolves at once where there is nothing to make ahead.
   */
  prepare(): Promise<void>;
}
