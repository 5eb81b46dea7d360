// The client's job bookkeeping on its own, with stand-ins for BullMQ and Redis: duplicates, lost jobs, Redis gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Queue, QueueEvents } from 'bullmq';
import { encodeValues, JOB_FORMAT_VERSION, type ChunkJobData } from '../src/cluster/job-format.ts';
import { JobTracker, type ChunkOutcome } from '../src/cluster/job-tracker.ts';
import type { RedisLink } from '../src/cluster/redis-link.ts';
import { waitFor } from './cluster-helpers.ts';
import { ClusterConnectionError } from '../src/cluster/index.ts';

const data: ChunkJobData = { v: JOB_FORMAT_VERSION, module: 'm.ts', name: 'f', star: false, items: encodeValues([1]), count: 1, timeout: null, attempts: 3 };

function standIns() {
  const added: string[] = [];
  const stored = new Map<string, unknown>();
  const queue = {
    addBulk: async (jobs: { opts: { jobId: string } }[]) => {
      for (const job of jobs) added.push(job.opts.jobId);
      return [];
    },
    getJob: async (id: string) => stored.get(id),
    remove: async () => 1,
  };
  const events = new EventEmitter();
  let unreachable: ((error: ClusterConnectionError) => void) | null = null;
  const link = { redis: { status: 'ready' }, unreachable: null, onUnreachable: (listener: typeof unreachable) => (unreachable = listener) };
  const tracker = new JobTracker(queue as unknown as Queue, events as unknown as QueueEvents, link as unknown as RedisLink);
  return { tracker, events, added, stored, failRedis: (error: ClusterConnectionError) => unreachable!(error) };
}

function watch(outcomes: ChunkOutcome[]) {
  return { data, settle: (outcome: ChunkOutcome) => outcomes.push(outcome), progress: () => {} };
}

test('a chunk settles once: a late duplicate result is ignored', () => {
  const { tracker, events } = standIns();
  const outcomes: ChunkOutcome[] = [];
  tracker.add([{ jobId: 'a', watch: watch(outcomes) }]);
  events.emit('completed', { jobId: 'a', returnvalue: { results: encodeValues([2]) } });
  events.emit('completed', { jobId: 'a', returnvalue: { results: encodeValues([99]) } });
  events.emit('failed', { jobId: 'a', failedReason: 'late' });
  assert.equal(outcomes.length, 1);
  assert.deepEqual(outcomes[0].results, [2]);
  tracker.close();
});

test('a job Redis lost is added again under the same id; one whose event was missed is read from Redis', async () => {
  const { tracker, added, stored } = standIns();
  const lost: ChunkOutcome[] = [];
  const missed: ChunkOutcome[] = [];
  tracker.add([
    { jobId: 'lost', watch: watch(lost) },
    { jobId: 'missed', watch: watch(missed) },
  ]);
  stored.set('missed', { finishedOn: 1, returnvalue: { results: encodeValues([7]) }, isCompleted: async () => true });
  // No events come: after a quiet second the tracker looks at the jobs itself.
  await waitFor(() => added.filter((id) => id === 'lost').length === 2, 'the lost job to be added again', 10_000);
  assert.deepEqual(missed[0]?.results, [7]);
  assert.equal(lost.length, 0);
  tracker.close();
});

test('Redis unreachable for connectTimeout fails every chunk out, as fatal', () => {
  const { tracker, failRedis } = standIns();
  const outcomes: ChunkOutcome[] = [];
  tracker.add([
    { jobId: 'a', watch: watch(outcomes) },
    { jobId: 'b', watch: watch(outcomes) },
  ]);
  failRedis(new ClusterConnectionError('cannot reach Redis'));
  assert.equal(outcomes.length, 2);
  assert.ok(outcomes.every((outcome) => outcome.fatal && outcome.error instanceof ClusterConnectionError));
  assert.equal(tracker.size, 0);
  tracker.close();
});
