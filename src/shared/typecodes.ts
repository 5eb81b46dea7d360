/**
 * ctypes-style typecodes of Value and SharedArray, as in Python's
 * multiprocessing on Linux x86_64: 'l'/'L' are C long, 64 bits, so they
 * (like 'q'/'Q') hold bigints. 'c' is a byte, held as a number 0..255.
 */

/** A typecode accepted by Value, RawValue, SharedArray and RawArray. */
export type Typecode = 'c' | 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';

/** Typecodes whose elements are bigints. */
export type BigTypecode = 'l' | 'L' | 'q' | 'Q';

/** The JS type of an element of typecode C. */
export type ElementOf<C extends Typecode> = C extends BigTypecode ? bigint : number;

type AnyTypedArray =
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** What a typecode means in memory. */
export interface TypecodeInfo {
  bytes: number;
  view(buffer: SharedArrayBuffer, offset: number, length: number): AnyTypedArray;
  /** Validates and converts one element; throws naming `what`. */
  check(value: unknown, what: string): number | bigint;
  zero: number | bigint;
}

function integer(bits: number, signed: boolean, view: TypecodeInfo['view']): TypecodeInfo {
  const min = signed ? -(2 ** (bits - 1)) : 0;
  const max = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return {
    bytes: bits / 8,
    view,
    zero: 0,
    check(value, what) {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        throw new TypeError(`${what} must be an integer (got ${typeof value === 'number' ? value : typeof value})`);
      }
      if (value < min || value > max) throw new RangeError(`${what} must be in [${min}, ${max}] (got ${value})`);
      return value;
    },
  };
}

function big(signed: boolean, view: TypecodeInfo['view']): TypecodeInfo {
  const min = signed ? -(2n ** 63n) : 0n;
  const max = signed ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  return {
    bytes: 8,
    view,
    zero: 0n,
    check(value, what) {
      const n = typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof n !== 'bigint') throw new TypeError(`${what} must be a bigint (or a safe integer) (got ${typeof value})`);
      if (n < min || n > max) throw new RangeError(`${what} must be in [${min}, ${max}] (got ${n})`);
      return n;
    },
  };
}

function float(bytes: number, view: TypecodeInfo['view']): TypecodeInfo {
  return {
    bytes,
    view,
    zero: 0,
    check(value, what) {
      if (typeof value !== 'number') throw new TypeError(`${what} must be a number (got ${typeof value})`);
      return value;
    },
  };
}

const byte = integer(8, false, (b, o, n) => new Uint8Array(b, o, n));

const TABLE: Record<Typecode, TypecodeInfo> = {
  c: {
    ...byte,
    check(value, what) {
      if (typeof value === 'string' && value.length === 1 && value.charCodeAt(0) < 256) return value.charCodeAt(0);
      if (value instanceof Uint8Array && value.length === 1) return value[0]!;
      return byte.check(value, what);
    },
  },
  b: integer(8, true, (b, o, n) => new Int8Array(b, o, n)),
  B: byte,
  h: integer(16, true, (b, o, n) => new Int16Array(b, o, n)),
  H: integer(16, false, (b, o, n) => new Uint16Array(b, o, n)),
  i: integer(32, true, (b, o, n) => new Int32Array(b, o, n)),
  I: integer(32, false, (b, o, n) => new Uint32Array(b, o, n)),
  l: big(true, (b, o, n) => new BigInt64Array(b, o, n)),
  L: big(false, (b, o, n) => new BigUint64Array(b, o, n)),
  q: big(true, (b, o, n) => new BigInt64Array(b, o, n)),
  Q: big(false, (b, o, n) => new BigUint64Array(b, o, n)),
  f: float(4, (b, o, n) => new Float32Array(b, o, n)),
  d: float(8, (b, o, n) => new Float64Array(b, o, n)),
};

/** Looks a typecode up, throwing a TypeError that lists the valid ones. */
export function typecodeInfo(typecode: unknown): TypecodeInfo {
  if (typeof typecode !== 'string' || !Object.hasOwn(TABLE, typecode)) {
    throw new TypeError(`typecode must be one of ${Object.keys(TABLE).join(' ')} (got ${JSON.stringify(typecode)})`);
  }
  return TABLE[typecode as Typecode];
}
