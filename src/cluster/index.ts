/**
 * multiproc/cluster: the same Pool across machines, on BullMQ and Redis.
 * This file only re-exports the public API of the subpath.
 */
export { ClusterPool, type ClusterPoolOptions } from './cluster-pool.ts';
export type { RedisConnection } from './redis-link.ts';
export {
  ClusterConnectionError,
  ClusterJobFailedError,
  ClusterFunctionNotAllowedError,
  ClusterChunkKilledWorkerError,
} from '../errors.ts';
