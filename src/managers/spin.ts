/**
 * Bounded spinning for the manager's round trips, shared by both sides.
 * A call's reply from a manager that is polling comes within a few µs,
 * far sooner than a sleeping process is woken, so each side polls a little
 * before it sleeps (bounds in lane-layout.ts). That pays only while both
 * processes have a core: on a machine with more busy processes than cores,
 * a spinner takes the core its peer needs, and the scheduler treats it as a
 * CPU hog. So spins yield the core after PURE_SPIN_US, and a SpinGauge
 * stops a side from spinning at all while its spins keep failing.
 */
import { yieldThread } from '../platform/native.ts';

/** A spin checks without pause this long (µs), then yields the core between checks. */
export const PURE_SPIN_US = 10;

/** Microseconds on a monotonic clock. */
export function nowUs(): number {
  return performance.now() * 1000;
}

/** Called between two checks of a spin that started at `startUs`. */
export function spinPause(startUs: number): void {
  if (nowUs() - startUs > PURE_SPIN_US) yieldThread();
}

/** After this many skipped spins, one is tried again, to notice that spinning pays again. */
const PROBE_EVERY = 32;
const MAX_CREDIT = 8;

/**
 * Whether spinning pays lately: a spin that caught what it waited for earns
 * credit, one that ran out costs more, and with no credit left the side
 * sleeps straight away, trying a spin once every PROBE_EVERY waits.
 */
export class SpinGauge {
  private credit = MAX_CREDIT;
  private skipped = 0;

  get spinning(): boolean {
    if (this.credit > 0) return true;
    if (++this.skipped < PROBE_EVERY) return false;
    this.skipped = 0;
    return true;
  }

  record(caught: boolean): void {
    this.credit = caught ? Math.min(this.credit + 1, MAX_CREDIT) : Math.max(this.credit - 2, 0);
  }
}
