/**
 * What travels through Redis between a ClusterPool and its workers. BullMQ
 * stores job data and return values as JSON, which would turn a Map, a Date
 * or a BigInt into something else; so items and results cross as V8
 * serialisation (the structured-clone format) in base64 inside the JSON.
 */
import { deserialize, serialize } from 'node:v8';
import {
  ClusterChunkKilledWorkerError,
  ClusterFunctionNotAllowedError,
  ClusterJobFailedError,
} from '../errors.ts';
import { RemoteTraceback } from '../errors.ts';
import { describeRemoteError, reviveRemoteError, type RemoteErrorData } from '../pool/remote-error.ts';

/** The data of one job: one chunk of a map, or one apply. */
export interface ChunkJobData {
  /** Format version, so that a worker of another version refuses rather than misreads. */
  v: 1;
  /** Module of the function, relative to the project root, '/'-separated. */
  module: string;
  /** Export name of the function in that module. */
  name: string;
  /** true: each item is an argument list (starmap, apply). */
  star: boolean;
  /** V8-serialised array of the chunk's items, base64. */
  items: string;
  /** Items in the chunk (for progress without decoding). */
  count: number;
  /** Milliseconds each item may run, or null. */
  timeout: number | null;
  /** Times the chunk may kill the process running it before it fails. */
  attempts: number;
}

/** A job's return value: the results, or the task's exception (a task error is an answer, not a job failure). */
export type ChunkJobResult = { results: string } | { error: string };

export const JOB_FORMAT_VERSION = 1;

export function encodeValues(values: unknown[]): string {
  return serialize(values).toString('base64');
}

export function decodeValues(encoded: string): unknown[] {
  return deserialize(Buffer.from(encoded, 'base64')) as unknown[];
}

/**
 * Worker side: a task's exception as data. The local pool already rebuilt
 * it with the child's stack as `cause`; that stack is the one to send on.
 */
export function encodeTaskError(error: unknown): string {
  const data = describeRemoteError(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof RemoteTraceback) {
    data.stack = cause.message;
    delete data.fields.cause;
  }
  return serialize(data).toString('base64');
}

/** Client side: the task's exception, same class name, message and fields, remote stack as `cause`. */
export function decodeTaskError(encoded: string): Error {
  return reviveRemoteError(deserialize(Buffer.from(encoded, 'base64')) as RemoteErrorData);
}

/**
 * A job failure crosses Redis as BullMQ's `failedReason`, a string. Workers
 * start the reasons they make with a stable code, so that the client can
 * throw the matching class.
 */
export function failureReason(code: string, message: string): string {
  return `${code}: ${message}`;
}

/** Client side: the error for a failed job. */
export function failedJobError(jobId: string, reason: string): ClusterJobFailedError {
  const match = /^(ERR_MP_[A-Z_]+): ([\s\S]*)$/.exec(reason);
  const message = match ? match[2] : `a worker failed the job: ${reason}`;
  switch (match?.[1]) {
    case 'ERR_MP_CLUSTER_FUNCTION_NOT_ALLOWED':
      return new ClusterFunctionNotAllowedError(message, jobId);
    case 'ERR_MP_CLUSTER_CHUNK_KILLED_WORKER':
      return new ClusterChunkKilledWorkerError(message, jobId);
    default:
      return new ClusterJobFailedError(message, jobId);
  }
}
