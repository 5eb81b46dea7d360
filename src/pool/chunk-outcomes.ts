/**
 * The hand-out side of a streamed map (imap, imapUnordered, and ClusterPool's
 * chunk feed): chunks settle in any order, and their outcomes are handed out
 * in submission order, or as they arrive, to one consumer that sleeps until
 * the next one settles.
 */
export class ChunkOutcomes<O> {
  private readonly finished = new Map<number, O>();
  private readonly arrivals: number[] = [];
  private consumed = 0;
  private wake: (() => void) | null = null;

  constructor(private readonly ordered: boolean) {}

  /** How many outcomes have been handed out. */
  get taken(): number {
    return this.consumed;
  }

  /** Records chunk `index`'s outcome and wakes the consumer. */
  settle(index: number, outcome: O): void {
    this.finished.set(index, outcome);
    if (!this.ordered) this.arrivals.push(index);
    this.nudge();
  }

  /** The next outcome to hand out, or undefined while it has not settled. */
  take(): O | undefined {
    const index = this.ordered ? (this.finished.has(this.consumed) ? this.consumed : -1) : (this.arrivals.shift() ?? -1);
    if (index < 0) return undefined;
    const outcome = this.finished.get(index)!;
    this.finished.delete(index);
    this.consumed++;
    return outcome;
  }

  /** Resolves at the next settle() or nudge(). */
  nextSettled(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Wakes the consumer without an outcome (an abort, say). */
  nudge(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
