/**
 * Length-prefixed frames over a byte stream, both sides of a manager
 * connection: a 4-byte big-endian length, then that many bytes. The reader
 * refuses a frame longer than its limit before buffering it, so a peer cannot
 * make the other side allocate what it announces.
 */

import { DefaultSerializer } from 'node:v8';
import { smallFrame } from './small-frames.ts';

const LENGTH_PLACEHOLDER = Buffer.alloc(4);

/**
 * v8.serialize(value) (which is these same serializer calls) with the
 * frame's length in front, in one buffer: a request or reply is written
 * without copying its body into a second buffer.
 */
export function serializeFramed(value: unknown): Buffer {
  const small = smallFrame(value);
  if (small) return small;
  const serializer = new DefaultSerializer();
  serializer.writeRawBytes(LENGTH_PLACEHOLDER);
  serializer.writeHeader();
  serializer.writeValue(value);
  const out = serializer.releaseBuffer();
  out.writeUInt32BE(out.length - 4, 0);
  return out;
}

/** Frames bigger than this are refused unless the manager is configured otherwise. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** Prefixes `body` with its length, ready to write to a socket. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}

/** Thrown by FrameReader.push when the peer announces a frame over the limit. */
export class OversizedFrame extends Error {}

/** Reassembles frames from socket chunks. */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(public maxFrameBytes: number) {}

  /** Adds a chunk and returns every frame now complete, in order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.buffered >= 4) {
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        throw new OversizedFrame(`a frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffered < 4 + length) break;
      const all = this.chunks.length === 1 ? this.chunks[0] : this.flatten();
      frames.push(all.subarray(4, 4 + length));
      const rest = all.subarray(4 + length);
      this.chunks = rest.length ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }

  private flatten(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [all];
    return all;
  }
}
