/** The parent's handle of a forked child (see ForkedChild). */
import { ControlChannel } from '../channels/control-channel.ts';
import type { Popen } from './popen.ts';
import { pidHasExited } from './vehicle-os-process.ts';
import { closeFd } from './fork-native.ts';
import { InvalidStateError } from '../errors.ts';

/**
 * A forked child as its parent sees it, whoever forked it (the zygote, or
 * the program itself): its exit is reported to it (reportExit) by whatever
 * watches it, and `keepAlive` is how it keeps the program alive.
 */
export class ForkedChild implements Popen {
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  /** Made on first use: most children's channel is never used, and a Socket made right after a fork costs ~2 ms of copied pages. */
  private opened: ControlChannel | null = null;
  private descriptor: number | null;
  private settle!: (code: number) => void;

  constructor(
    readonly pid: number,
    channelFd: number,
    private readonly keepAlive: (child: ForkedChild, keep: boolean) => void,
  ) {
    this.descriptor = channelFd;
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  get channel(): ControlChannel {
    if (!this.opened) {
      if (this.descriptor === null) throw new InvalidStateError(`the control channel of child ${this.pid} is closed: it has exited`);
      this.opened = ControlChannel.overDescriptor(this.descriptor);
      this.descriptor = null;
    }
    return this.opened;
  }

  /** Called by whatever watches the child: the zygote (or its death), or an exit watch. */
  reportExit(code: number): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    this.keepAlive(this, false);
    this.close();
    this.settle(code);
  }

  hasExited(): boolean {
    return this.exitCode !== null || pidHasExited(this.pid);
  }

  signal(signal: NodeJS.Signals): void {
    if (this.exitCode !== null) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // It exited meanwhile; the exit watch reports it.
    }
  }

  keepParentAlive(keep: boolean): void {
    this.keepAlive(this, keep && this.exitCode === null);
    this.opened?.unref();
  }

  close(): void {
    this.opened?.close();
    if (this.descriptor !== null) closeFd(this.descriptor);
    this.descriptor = null;
  }
}
