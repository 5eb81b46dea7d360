/**
 * Client side of the wire format, shared by the async and sync connections:
 * a request's arguments go through the shareable encoding, and the request
 * says whether a proxy was among them, so that the server looks for stored
 * proxies only in requests that carry one; a reply becomes a value, a token
 * or a thrown error.
 */
import { decodeFromTransfer, serializeForTransfer } from '../transfer/shareable.ts';
import { serializeFramed } from './frames.ts';
import { smallFrame } from './small-frames.ts';
import { errorFromReport } from './remote-errors.ts';
import { Status, type ErrorReport, type ProxyToken } from './protocol.ts';

/** A reply that made a new referent: the caller wraps the token in a proxy. */
export class IssuedToken {
  constructor(readonly token: ProxyToken) {}
}

/** Counts proxy reductions, so that an encoder can tell whether its value held a proxy. */
export const proxyReductions = { count: 0 };

/** The request as a whole frame (length in front), ready to write. */
export function encodeRequest(op: number, callId: number, rest: unknown[]): { framed: Buffer } {
  const message = [op, callId, ...rest, false];
  // Numbers, short strings and arrays of them (most calls) hold no shareable: no walk needed.
  const small = smallFrame(message);
  if (small) return { framed: small };
  const before = proxyReductions.count;
  // Encode first (rest holds the arguments); the flag is only known afterwards.
  let framed = serializeForTransfer(message, 'a proxy call argument', serializeFramed);
  if (proxyReductions.count !== before) {
    message[message.length - 1] = true;
    framed = serializeForTransfer(message, 'a proxy call argument', serializeFramed);
  }
  return { framed };
}

/** The value of a reply (a ProxyToken for Status.token); throws the manager's error for Status.error. */
export function decodeReply(status: number, value: unknown): unknown {
  if (status === Status.error) throw errorFromReport(value as ErrorReport);
  if (status === Status.token) return new IssuedToken(value as ProxyToken);
  return decodeFromTransfer(value);
}
