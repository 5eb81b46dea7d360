/**
 * How values become bytes for pipes and queues: v8.serialize of the value
 * with multiproc's shareables replaced by markers (encodeForTransfer), so a
 * Lock or Queue inside a message arrives as a working Lock or Queue.
 */
import { deserialize, serialize } from 'node:v8';
import { decodeFromTransfer, encodeForTransfer } from './shareable.ts';

function isPlainLeaf(value: unknown): boolean {
  const type = typeof value;
  return value === null || type === 'number' || type === 'string' || type === 'boolean' || type === 'undefined' || type === 'bigint';
}

/**
 * Serialises `value`; throws UnserializableError naming `what` (and the path
 * inside it) if structured clone rejects part of it — in the caller, before
 * anything is sent.
 */
export function encodeMessage(value: unknown, what: string): Buffer {
  // Primitives and byte arrays cannot hold shareables: skip the walk (and the
  // trial serialisation inside encodeForTransfer) that would cost as much as
  // the message itself.
  if (isPlainLeaf(value) || (ArrayBuffer.isView(value) && !(value.buffer instanceof SharedArrayBuffer))) {
    return serialize(value);
  }
  return serialize(encodeForTransfer(value, what));
}

/** Rebuilds a value from `bytes` (which may be a view into shared memory: nothing keeps a reference to it). */
export function decodeMessage(bytes: Buffer): unknown {
  const value = deserialize(bytes);
  return typeof value === 'object' && value !== null ? decodeFromTransfer(value) : value;
}
