/**
 * A fast path for the frames most calls are made of: arrays of numbers,
 * short one-byte strings, booleans, null and undefined (a request such as
 * [op, callId, id, 'set', ['k', 5], false], a reply such as [callId, 0, 5]).
 * v8.serialize spends ~3.5 µs on such a frame constructing its serializer,
 * a tenth of a whole round trip; this writes the same V8 wire format
 * directly. Anything else returns null and goes through v8.serialize.
 * At load the output is checked against v8.deserialize, and the fast path
 * turns itself off if this Node writes another format version.
 */
import { deserialize, serialize } from 'node:v8';
import { isDeepStrictEqual } from 'node:util';

const HEADER = serialize(null).subarray(0, -1); // the version header, then the tag of null
const scratch = Buffer.allocUnsafe(1024);
let at = 0;

function varint(n: number): boolean {
  while (n >= 0x80) {
    if (at >= scratch.length) return false;
    scratch[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  if (at >= scratch.length) return false;
  scratch[at++] = n;
  return true;
}

function value(v: unknown, depth: number): boolean {
  if (at + 10 > scratch.length) return false;
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v && !Object.is(v, -0)) {
        scratch[at++] = 0x49; // 'I', zigzag varint
        return varint(((v << 1) ^ (v >> 31)) >>> 0);
      }
      scratch[at++] = 0x4e; // 'N', a double
      scratch.writeDoubleLE(v, at);
      at += 8;
      return true;
    case 'string': {
      if (v.length > 256 || at + v.length + 6 > scratch.length) return false;
      for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 0x7f) return false;
      scratch[at++] = 0x22; // '"', a one-byte string
      varint(v.length);
      at += scratch.write(v, at, 'latin1');
      return true;
    }
    case 'boolean':
      scratch[at++] = v ? 0x54 : 0x46;
      return true;
    case 'undefined':
      scratch[at++] = 0x5f;
      return true;
    case 'object':
      if (v === null) {
        scratch[at++] = 0x30;
        return true;
      }
      if (!Array.isArray(v) || depth > 4 || Object.getPrototypeOf(v) !== Array.prototype) return false;
      scratch[at++] = 0x41; // 'A', a dense array: length, elements, '$', 0 properties, length
      varint(v.length);
      for (let i = 0; i < v.length; i++) {
        if (!(i in v) || !value(v[i], depth + 1)) return false;
      }
      scratch[at++] = 0x24;
      scratch[at++] = 0;
      return varint(v.length);
    default:
      return false;
  }
}

let enabled = HEADER.length === 2;

/** `value` framed (4-byte length, then v8.serialize's bytes), or null when the fast path does not cover it. */
export function smallFrame(v: unknown): Buffer | null {
  if (!enabled) return null;
  at = 4;
  scratch.set(HEADER, at);
  at += HEADER.length;
  if (!value(v, 0)) return null;
  const out = Buffer.allocUnsafe(at);
  scratch.copy(out, 0, 0, at);
  out.writeUInt32BE(at - 4, 0);
  return out;
}

let input: Buffer = scratch;
let pos = 0;
const FAIL = Symbol('not a small frame');

function readVarint(): number {
  let n = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= input.length) throw FAIL;
    const byte = input[pos++];
    n += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return n;
  }
  throw FAIL;
}

function readValue(depth: number): unknown {
  if (pos >= input.length) throw FAIL;
  switch (input[pos++]) {
    case 0x49: {
      const z = readVarint();
      if (z > 0xffffffff) throw FAIL;
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    case 0x4e:
      if (pos + 8 > input.length) throw FAIL;
      pos += 8;
      return input.readDoubleLE(pos - 8);
    case 0x22: {
      const length = readVarint();
      if (pos + length > input.length) throw FAIL;
      pos += length;
      return input.toString('latin1', pos - length, pos);
    }
    case 0x54:
      return true;
    case 0x46:
      return false;
    case 0x5f:
      return undefined;
    case 0x30:
      return null;
    case 0x41: {
      const length = readVarint();
      if (depth > 4 || length > input.length) throw FAIL;
      const array = new Array(length);
      for (let i = 0; i < length; i++) array[i] = readValue(depth + 1);
      if (input[pos++] !== 0x24 || input[pos++] !== 0 || readVarint() !== length) throw FAIL;
      return array;
    }
    default:
      throw FAIL;
  }
}

/**
 * The value of a frame body that smallFrame's subset covers, read without
 * v8.deserialize; anything else (another tag, a malformed or truncated
 * body) goes to v8.deserialize, which decides, as for every other frame.
 */
export function readSmall(body: Buffer): any {
  if (enabled && body.length >= HEADER.length && body[0] === HEADER[0] && body[1] === HEADER[1]) {
    input = body;
    pos = HEADER.length;
    try {
      const value = readValue(0);
      if (pos === body.length) return value;
    } catch (error) {
      if (error !== FAIL) throw error;
    } finally {
      input = scratch;
    }
  }
  return deserialize(body);
}

// Checked once against V8 itself: a format this code does not write turns the fast path off.
const samples: unknown[] = [[1, 0, -5, 2 ** 31, -0, 1.5, 'k', '', true, false, null, undefined, [2, ['x']], []], [7, 0, 123456789]];
for (const sample of samples) {
  const framed = smallFrame(sample);
  if (!framed || !isDeepStrictEqual(deserialize(framed.subarray(4)), sample)) enabled = false;
  if (framed && !isDeepStrictEqual(readSmall(framed.subarray(4)), sample)) enabled = false;
}
