/**
 * getReusablePool, as loky's get_reusable_executor: one warm Pool shared
 * by every caller in the process, resized to what each call asks, whose
 * idle workers exit after `idleTimeout` and come back on demand. Starting
 * workers is the expensive part of a pool; this pays it once.
 */
import { checkObject, checkProcesses, describe } from '../checks.ts';
import { cpuCount } from '../platform/cpu-count.ts';
import { Pool } from './pool.ts';

/** Options of getReusablePool. */
export interface ReusablePoolOptions {
  /** Workers the pool should have from now on; default cpuCount(). */
  processes?: number | null;
  /** Idle workers exit after this many milliseconds (default 300 000, as loky); null: never. */
  idleTimeout?: number | null;
}

const DEFAULT_IDLE_TIMEOUT_MS = 300_000;

let shared: Pool | null = null;

/**
 * The process's shared Pool: the same warm pool across calls while it runs,
 * grown or shrunk to `processes` (surplus workers finish their tasks first).
 * A pool that was closed or terminated is replaced by a new one. It does not
 * keep the program alive; terminate() it to stop its workers at once.
 */
export function getReusablePool(options: ReusablePoolOptions = {}): Pool {
  checkObject(options, 'getReusablePool options');
  const { processes = null, idleTimeout = DEFAULT_IDLE_TIMEOUT_MS } = options;
  checkProcesses(processes, "getReusablePool option 'processes'");
  if (idleTimeout !== null && (typeof idleTimeout !== 'number' || !(idleTimeout >= 0) || idleTimeout === Infinity)) {
    throw new RangeError(`getReusablePool option 'idleTimeout' must be a finite number of milliseconds >= 0 or null, got ${describe(idleTimeout)}`);
  }
  const size = processes ?? cpuCount();
  if (shared?.running) {
    shared.reconfigure(size, idleTimeout);
    return shared;
  }
  shared = new Pool({ processes: size, idleTimeout });
  return shared;
}
