/**
 * The authkey handshake, Python's challenge–response (connection.py's
 * deliver_challenge / answer_challenge): one side sends a random nonce, the
 * other proves it knows the key by returning HMAC-SHA256(key, nonce), and
 * then the roles swap, so that each side has authenticated the other before
 * a single message is processed. The key itself never crosses the wire.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../errors.ts';

const CHALLENGE = Buffer.from('#CHALLENGE#');
const WELCOME = Buffer.from('#WELCOME#');
const FAILURE = Buffer.from('#FAILURE#');
const DIGEST_TAG = Buffer.from('{sha256}');
const NONCE_BYTES = 40;

/** Handshake frames stay this small; anything longer is not a handshake. */
export const HANDSHAKE_MAX_FRAME_BYTES = 256;

/** The two operations the handshake needs from a framed connection. */
export interface HandshakeLink {
  send(body: Buffer): void;
  /** The next frame; rejects if the peer closes or stays silent too long. */
  next(): Promise<Buffer>;
}

function digest(authkey: Uint8Array, message: Buffer): Buffer {
  return createHmac('sha256', authkey).update(message).digest();
}

// The steps, as pure functions, so that the async drivers below and the
// synchronous client (sync-client.ts) run the very same protocol.

/** A fresh challenge frame, and the nonce message the answer must sign. */
export function makeChallenge(): { frame: Buffer; message: Buffer } {
  const message = Buffer.concat([DIGEST_TAG, randomBytes(NONCE_BYTES)]);
  return { frame: Buffer.concat([CHALLENGE, message]), message };
}

/** Whether `answer` proves knowledge of `authkey` for `message`. */
export function answerIsRight(authkey: Uint8Array, message: Buffer, answer: Buffer): boolean {
  const expected = Buffer.concat([DIGEST_TAG, digest(authkey, message)]);
  return answer.length === expected.length && timingSafeEqual(answer, expected);
}

export const verdictFrame = (accepted: boolean): Buffer => (accepted ? WELCOME : FAILURE);

/** The answer to a challenge frame; throws AuthenticationError if it is not one. */
export function answerFor(authkey: Uint8Array, challenge: Buffer): Buffer {
  if (!challenge.subarray(0, CHALLENGE.length).equals(CHALLENGE)) {
    throw new AuthenticationError('the peer did not start the authkey handshake: it is not a multiproc manager');
  }
  const message = challenge.subarray(CHALLENGE.length);
  if (!message.subarray(0, DIGEST_TAG.length).equals(DIGEST_TAG)) {
    throw new AuthenticationError('the peer asked for an unsupported digest (only sha256 is accepted)');
  }
  return Buffer.concat([DIGEST_TAG, digest(authkey, message)]);
}

/** Throws AuthenticationError unless the peer welcomed our answer. */
export function checkVerdict(verdict: Buffer): void {
  if (!verdict.equals(WELCOME)) throw new AuthenticationError("digest sent was rejected: the authkey differs from the peer's");
}

export const wrongAnswer = () =>
  new AuthenticationError('the peer answered the authkey challenge wrongly: its authkey differs');

/** Challenges the peer; resolves once it proved it holds `authkey`, else throws AuthenticationError. */
export async function deliverChallenge(link: HandshakeLink, authkey: Uint8Array): Promise<void> {
  const challenge = makeChallenge();
  link.send(challenge.frame);
  const accepted = answerIsRight(authkey, challenge.message, await link.next());
  link.send(verdictFrame(accepted));
  if (!accepted) throw wrongAnswer();
}

/** Answers the peer's challenge with `authkey`; throws AuthenticationError if the peer rejects it. */
export async function answerChallenge(link: HandshakeLink, authkey: Uint8Array): Promise<void> {
  link.send(answerFor(authkey, await link.next()));
  checkVerdict(await link.next());
}
