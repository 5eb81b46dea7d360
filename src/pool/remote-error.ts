/**
 * How a task's exception crosses back to the caller: its own class when the
 * caller can find it, message and custom fields kept, the remote stack
 * attached as `cause` (Python's RemoteTraceback). The wire format is
 * transfer/error-transfer.ts's, shared with Process children.
 */
import { RemoteTraceback } from '../errors.ts';
import { decodeError, encodeError, type ErrorWire } from '../transfer/error-transfer.ts';

/** A worker's exception in a form that structured clone keeps intact. */
export type RemoteErrorData = ErrorWire;

/** Worker side: describes a thrown value for the parent. */
export const describeRemoteError = (error: unknown): RemoteErrorData => encodeError(error);

/** Parent side: rebuilds the worker's exception, its own class when found, the remote stack as `cause`. */
export const reviveRemoteError = (data: RemoteErrorData): Error => decodeError(data, (stack) => new RemoteTraceback(stack));
