/**
 * Value and RawValue, like multiprocessing.Value / RawValue: one typed
 * number in shared memory. Value guards each read and write of `.value` with
 * a lock (an RLock by default); compound updates such as `v.value += 1`
 * need the lock held around them: `v.getLock().runSync(() => v.value++)`.
 */
import { isLock, lockFromReduced, RLock, type AnyLock } from '../sync/lock.ts';
import { allocateBlock, attachBlock, type BlockRef, type SharedBlock } from '../platform/shared-heap.ts';
import { reduceForTransfer, revive, uninitialized, type ReducedShareable, type Shareable } from '../transfer/shareable.ts';
import { typecodeInfo, type ElementOf, type Typecode, type TypecodeInfo } from './typecodes.ts';
import { InvalidStateError } from '../errors.ts';

export type { Typecode, ElementOf } from './typecodes.ts';

/** Options of Value and SharedArray. */
export interface SynchronizedOptions {
  /** true (default): a new RLock; false: no lock; or the Lock/RLock to use. */
  lock?: boolean | AnyLock;
}

/** Resolves the lock option, throwing a TypeError naming it. */
export function resolveLockOption(options: SynchronizedOptions | undefined): AnyLock | undefined {
  const lock = options?.lock ?? true;
  if (lock === true) return new RLock();
  if (lock === false) return undefined;
  if (isLock(lock)) return lock;
  throw new TypeError('options.lock must be true, false, a Lock or an RLock');
}

interface ValueState extends BlockRef {
  typecode: Typecode;
  lock?: ReducedShareable | null;
}

/** A typed number in shared memory, without a lock. */
export class RawValue<C extends Typecode = Typecode> implements Shareable {
  /** The typecode this value was created with. */
  readonly typecode!: C;
  protected info!: TypecodeInfo;
  protected block!: SharedBlock;
  protected cell!: { [index: number]: number | bigint };
  protected lock!: AnyLock | undefined;

  /** `initial` defaults to 0 (0n for bigint typecodes). */
  constructor(typecode: C, initial?: ElementOf<C>) {
    const info = typecodeInfo(typecode);
    const checked = info.check(initial ?? info.zero, 'initial');
    this.attach(typecode, allocateBlock(8, 8), undefined);
    this.cell[0] = checked;
  }

  protected attach(typecode: C, block: SharedBlock, lock: AnyLock | undefined): this {
    (this as { typecode: C }).typecode = typecode;
    this.info = typecodeInfo(typecode);
    this.block = block;
    this.cell = this.info.view(block.buffer, block.offset, 1);
    this.lock = lock;
    return this;
  }

  /** @internal Rebuilds a value of this class sent by another process. */
  static [revive]<T extends RawValue>(this: abstract new (...args: any[]) => T, state: ValueState): T {
    return uninitialized(this).attach(state.typecode, attachBlock(state), state.lock ? lockFromReduced(state.lock) : undefined);
  }

  /** The current value (no locking). */
  get value(): ElementOf<C> {
    return this.cell[0] as ElementOf<C>;
  }

  set value(value: ElementOf<C>) {
    this.cell[0] = this.info.check(value, 'value');
  }

  protected get kind(): string {
    return 'multiproc.RawValue';
  }

  protected reducedLock(): ReducedShareable | null {
    return null;
  }

  /** Describes the value for another process (see shareable.ts). */
  [reduceForTransfer](): ReducedShareable {
    const state: ValueState = {
      name: this.block.name,
      offset: this.block.offset,
      typecode: this.typecode,
      lock: this.reducedLock(),
    };
    return { kind: this.kind, state };
  }
}

/** A typed number in shared memory whose `.value` reads and writes take its lock. */
export class Value<C extends Typecode = Typecode> extends RawValue<C> {
  /** `initial` defaults to 0 (0n); options.lock as in SynchronizedOptions. */
  constructor(typecode: C, initial?: ElementOf<C>, options?: SynchronizedOptions) {
    const lock = resolveLockOption(options);
    super(typecode, initial);
    this.lock = lock;
  }

  /** The value, read under the lock. */
  override get value(): ElementOf<C> {
    const lock = this.lock;
    // Holding the lock already (the usual `lock.runSync(() => v.value++)`),
    // re-locking would only cost time — and deadlock a plain Lock.
    if (lock === undefined || lock.heldByCurrentThread) return this.cell[0] as ElementOf<C>;
    lock.acquireSync();
    try {
      return this.cell[0] as ElementOf<C>;
    } finally {
      lock.release();
    }
  }

  override set value(value: ElementOf<C>) {
    const checked = this.info.check(value, 'value');
    const lock = this.lock;
    if (lock === undefined || lock.heldByCurrentThread) {
      this.cell[0] = checked;
      return;
    }
    lock.acquireSync();
    try {
      this.cell[0] = checked;
    } finally {
      lock.release();
    }
  }

  /**
   * The lock guarding this value. Throws if it was made with `lock: false`:
   * Python returns a bare RawValue then, which has no getLock or getObj;
   * here it stays a Value whose accesses take no lock (see the README).
   */
  getLock(): AnyLock {
    if (this.lock === undefined) throw new InvalidStateError('this Value has no lock (it was created with lock: false)');
    return this.lock;
  }

  /** The same memory as a RawValue (no locking). */
  getObj(): RawValue<C> {
    return RawValue[revive]({ name: this.block.name, offset: this.block.offset, typecode: this.typecode }) as RawValue<C>;
  }

  protected override get kind(): string {
    return 'multiproc.Value';
  }

  protected override reducedLock(): ReducedShareable | null {
    return this.lock ? this.lock[reduceForTransfer]() : null;
  }
}

