/**
 * Errors of pipes and queues, named as in Python's multiprocessing so that
 * code ported from Python catches what it expects.
 */

/** `getNowait()` / `get({ block: false })` found no item, or `get({ timeout })` timed out. */
export class Empty extends Error {
  constructor(message = 'the queue is empty') {
    super(message);
    this.name = 'Empty';
  }
}

/** `putNowait()` / `put(..., { block: false })` found the queue full, or `put(..., { timeout })` timed out. */
export class Full extends Error {
  constructor(message = 'the queue is full') {
    super(message);
    this.name = 'Full';
  }
}

/** `recv` on a connection whose peer has closed (or died) and whose pipe is drained. */
export class EOFError extends Error {
  constructor(message = 'the other end of the pipe was closed and no message is left') {
    super(message);
    this.name = 'EOFError';
  }
}

/** `send` on a connection whose reading end was closed: nobody can receive the message. */
export class BrokenPipeError extends Error {
  constructor(message = 'the reading end of the pipe was closed') {
    super(message);
    this.name = 'BrokenPipeError';
  }
}

/**
 * `recvBytesInto` got a message longer than the space left in the buffer.
 * The message is consumed; it travels in `data` (Python: `e.args[0]`).
 */
export class BufferTooShort extends Error {
  constructor(readonly data: Buffer) {
    super(`the buffer is too short for a message of ${data.length} bytes; the message is in error.data`);
    this.name = 'BufferTooShort';
  }
}
