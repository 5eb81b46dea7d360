/**
 * The key managers use to authenticate their peers (Python's authkey): 32
 * random bytes made on first use in the main process, inherited by children.
 */
import { randomBytes } from 'node:crypto';

let ownAuthkey: Buffer | null = null;

/** This process's authkey (made on first use). */
export function processAuthkey(): Buffer {
  ownAuthkey ??= randomBytes(32);
  return ownAuthkey;
}

/** Replaces this process's authkey: set on the current process, or, in a child, the one its parent gave it. */
export function adoptProcessAuthkey(authkey: Uint8Array): void {
  ownAuthkey = Buffer.from(authkey);
}
