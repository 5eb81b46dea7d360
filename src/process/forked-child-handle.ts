/** The parent's handle of a forked child (see ForkedChild). */
import { Socket } from 'node:net';
import { ControlChannel } from '../channels/control-channel.ts';
import type { Popen } from './popen.ts';
import { pidHasExited } from './vehicle-os-process.ts';

/**
 * A forked child as its parent sees it, whoever forked it (the zygote, or
 * the program itself): its exit is reported to it (reportExit) by whatever
 * watches it, and `keepAlive` is how it keeps the program alive.
 */
export class ForkedChild implements Popen {
  exitCode: number | null = null;
  readonly exited: Promise<number>;
  readonly channel: ControlChannel;
  private settle!: (code: number) => void;

  constructor(
    readonly pid: number,
    channelFd: number,
    private readonly keepAlive: (child: ForkedChild, keep: boolean) => void,
  ) {
    this.channel = new ControlChannel(new Socket({ fd: channelFd, readable: true, writable: true }));
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  /** Called by whatever watches the child: the zygote (or its death), or an exit watch. */
  reportExit(code: number): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    this.keepAlive(this, false);
    this.channel.close();
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
    this.channel.unref();
  }

  close(): void {
    this.channel.close();
  }
}

