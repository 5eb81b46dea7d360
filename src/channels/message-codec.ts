/**
 * How values become bytes for pipes and queues.
 *
 * The general form is v8.serialize of the value with multiproc's shareables
 * replaced by markers (serializeForTransfer), so a Lock or Queue inside a
 * message arrives as a working Lock or Queue. Its first byte is always 0xFF
 * (the serializer's version tag).
 *
 * The commonest messages skip it: a number, a well-formed string, a boolean,
 * null, undefined, a Buffer or a plain Uint8Array is sent as one tag byte
 * (below 0xFF) and its raw bytes. v8.serialize/deserialize cost ~2 µs each
 * even for an int, and for a 1 MiB Buffer they copy several times; the tagged
 * form costs a few tens of ns, and byte arrays are copied once into shared
 * memory and once out of it.
 */
import { deserialize, serialize } from 'node:v8';
import { decodeFromTransfer, serializeForTransfer } from '../transfer/shareable.ts';
import { importDefinitionModules } from '../transfer/function-resolver.ts';
import { TAG_BYTES } from './shm-ring.ts';
import { copyBytes, copyToPooled, POOLED_COPY_MIN } from '../platform/native.ts';

const T_NUMBER = 1;
const T_STRING = 2;
const T_TRUE = 3;
const T_FALSE = 4;
const T_NULL = 5;
const T_UNDEFINED = 6;
const T_BUFFER = 7;
const T_UINT8 = 8;
const T_V8 = 0xff;

/**
 * An encoded message: `tag` (or -1 for none) then `body`, at TAG_BYTES (see
 * ShmRing.tryPut) so that copies of big arrays stay word-aligned. For byte
 * arrays `body` is the caller's own array, not a copy: see {@link stableMessage}.
 */
export interface EncodedMessage {
  tag: number;
  body: Uint8Array;
  /** Whether body is the caller's array (it could change before a delayed write). */
  borrowed: boolean;
}

/** String.prototype.isWellFormed (Node 20, ES2024; not in this project's ES2022 lib). */
type WellFormedCheck = string & { isWellFormed(): boolean };

const ONE_BYTE = [T_TRUE, T_FALSE, T_NULL, T_UNDEFINED].map((tag) => Buffer.from([tag]));

function tagged(tag: number, body: Uint8Array, borrowed = false): EncodedMessage {
  return { tag, body, borrowed };
}

/**
 * Serialises `value`; throws UnserializableError naming `what` (and the path
 * inside it) if structured clone rejects part of it — in the caller, before
 * anything is sent.
 */
export function encodeMessage(value: unknown, what: string): EncodedMessage {
  switch (typeof value) {
    case 'number': {
      const out = Buffer.allocUnsafe(9);
      out[0] = T_NUMBER;
      out.writeDoubleLE(value, 1);
      return tagged(-1, out);
    }
    case 'string':
      // Lone surrogates would not survive UTF-8: those strings take the v8 path.
      if ((value as WellFormedCheck).isWellFormed()) {
        const out = Buffer.allocUnsafe(1 + Buffer.byteLength(value));
        out[0] = T_STRING;
        out.write(value, 1, 'utf8');
        return tagged(-1, out);
      }
      return tagged(-1, serialize(value));
    case 'boolean':
      return tagged(-1, ONE_BYTE[value ? 0 : 1]!);
    case 'undefined':
      return tagged(-1, ONE_BYTE[3]!);
    case 'bigint':
      return tagged(-1, serialize(value));
    default:
  }
  if (value === null) return tagged(-1, ONE_BYTE[2]!);
  if (value instanceof Uint8Array && !(value.buffer instanceof SharedArrayBuffer)) {
    const proto = Object.getPrototypeOf(value);
    if (proto === Buffer.prototype) return tagged(T_BUFFER, value, true);
    if (proto === Uint8Array.prototype) return tagged(T_UINT8, value, true);
  }
  // Other byte views cannot hold shareables: skip the walk, which would cost as much as the message.
  if (ArrayBuffer.isView(value) && !(value.buffer instanceof SharedArrayBuffer)) return tagged(-1, serialize(value));
  return tagged(-1, serializeForTransfer(value, what));
}

/** `message` with a borrowed body copied, for a put that must wait (the caller may change its array meanwhile). */
export function stableMessage(message: EncodedMessage): EncodedMessage {
  return message.borrowed ? tagged(message.tag, Uint8Array.prototype.slice.call(message.body), false) : message;
}

/**
 * A private copy of `bytes` (a claimed ring record) from `from` on, owning
 * its whole ArrayBuffer when `ownBuffer` (else small copies may share Node's
 * pooled slab). Copied with memcpy: V8's own copies out of shared memory are
 * relaxed-atomic and ~3x slower. Large copies come from the native buffer pool.
 */
export function copyOutOfShared(bytes: Uint8Array, from = 0, ownBuffer = false): Buffer {
  const length = bytes.length - from;
  if (length >= POOLED_COPY_MIN) return Buffer.from(copyToPooled(bytes, from, length));
  const out = ownBuffer ? Buffer.allocUnsafeSlow(length) : Buffer.allocUnsafe(length);
  copyBytes(out, 0, bytes, from, length);
  return out;
}

/** Rebuilds a value from `bytes`, which may be a view into shared memory: the result never aliases it. */
export function decodeMessage(bytes: Buffer): unknown {
  switch (bytes[0]) {
    case T_NUMBER:
      return bytes.readDoubleLE(1);
    case T_STRING:
      return bytes.toString('utf8', 1);
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_NULL:
      return null;
    case T_UNDEFINED:
      return undefined;
    case T_BUFFER:
      return copyOutOfShared(bytes, TAG_BYTES);
    case T_UINT8: {
      // A Uint8Array owns its whole ArrayBuffer, as the sender's did: no shared slab.
      const out = copyOutOfShared(bytes, TAG_BYTES, true);
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    }
    case T_V8:
    default: {
      // deserialize returns typed arrays as views into its input: give it a
      // private copy so nothing received aliases ring memory that is reused.
      const value = deserialize(copyOutOfShared(bytes));
      return typeof value === 'object' && value !== null ? decodeFromTransfer(value) : value;
    }
  }
}

/** A received message that named a function or class this process could not find: decoded again after importing. */
class AwaitingModules {
  constructor(
readonly bytes: Buffer) {}
}

/**
 * decodeMessage for receivers that can wait: a message whose functions or
 * class instances come from a module this process has not loaded is kept,
 * for {@link finishDecode} to import that module and decode it again. Costs
 * nothing unless decoding fails.
 */
export function decodeMessageAwaitingModules(bytes: Buffer): unknown {
  if (bytes[0] !== T_V8) return decodeMessage(bytes);
  const copy = copyOutOfShared(bytes);
  const value = deserialize(copy);
  if (typeof value !== 'object' || value === null) return value;
  try {
    return decodeFromTransfer(value);
  } catch {
    // Decoded again from a fresh copy: decoding fills arrays in place.
    return new AwaitingModules(copy);
  }
}

/** The value of a message taken with {@link decodeMessageAwaitingModules}: imports what it named, as unpickling does, then decodes it. */
export function finishDecode(item: unknown): unknown {
  // Not async: the common message must not pay for extra promise ticks.
  return item instanceof AwaitingModules ? decodeAfterImports(item.bytes) : item;
}

async function decodeAfterImports(bytes: Buffer): Promise<unknown> {
  const encoded = deserialize(bytes) as unknown;
  await importDefinitionModules(encoded);
  return decodeFromTransfer(encoded);
}
