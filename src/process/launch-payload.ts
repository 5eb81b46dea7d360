/** What a parent sends a child to start it: the one message of the launch protocol. */
import type { FunctionReference } from '../transfer/function-reference.ts';

/** How a child process is started: 'fork' (emulated), 'spawn' or 'forkserver'. */
export type StartMethodName = 'fork' | 'spawn' | 'forkserver';

export interface LaunchPayload {
  name: string;
  identity: number[];
  daemon: boolean;
  parentPid: number;
  parentName: string;
  startMethod: StartMethodName;
  cwd: string;
  /** The parent's environment; null when it is the one the child already has (a zygote's child, see zygote.ts). */
  env: Record<string, string | undefined> | null;
  /** The Process subclass to rebuild, when it is not Process itself. */
  processClass: FunctionReference | null;
  /** A subclass instance's own fields, encoded for transfer. */
  fields: Record<string, unknown>;
  target: FunctionReference | null;
  /** Encoded for transfer (see shareable.ts). */
  args: unknown[];
  /** Functions inside `args` and `fields`, whose modules the child imports before decoding them; usually none. */
  functions: FunctionReference[];
  /** The fork start method's snapshot of the parent's globals, encoded; null otherwise. */
  globals: Record<string, unknown> | null;
  /** The child's Process.authkey. */
  authkey: Uint8Array;
}
