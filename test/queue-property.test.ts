// Property: any mix of producer and consumer processes over one Queue
// delivers every message exactly once, FIFO per producer, whatever the
// message sizes, maxsize and consumer timeouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import * as targets from './fixtures/queue-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';
import { Process, Queue } from '../src/index.ts';

test('every message exactly once, FIFO per producer, for random mixes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        producers: fc.array(fc.record({ count: fc.integer({ min: 0, max: 300 }), size: fc.constantFrom(0, 10, 3000, 600_000, 3_000_000) }), { minLength: 1, maxLength: 3 }),
        consumers: fc.integer({ min: 1, max: 3 }),
        maxsize: fc.constantFrom(0, 1, 7),
        timeoutMs: fc.constantFrom(0, 2, 50),
      }),
      async ({ producers, consumers, maxsize, timeoutMs }) => {
        const q = new Queue({ maxsize });
        const outs = Array.from({ length: consumers }, () => resultPath());
        const procs = [
          ...producers.map((p, id) => new Process({ target: targets.produce, args: [q, id, Math.min(p.count, p.size > 100_000 ? 5 : p.count), p.size] })),
          ...outs.map((out) => new Process({ target: targets.consume, args: [q, out, timeoutMs] })),
        ];
        for (const p of procs) p.start();
        await Promise.all(procs.slice(0, producers.length).map((p) => p.join()));
        for (let i = 0; i < consumers; i++) await q.put(null); // one sentinel per consumer
        await Promise.all(procs.map((p) => p.join()));
        assert.deepEqual(procs.map((p) => p.exitCode), procs.map(() => 0));
        const got = outs.flatMap((out) => readResult<[number, number, number][]>(out));
        const perProducer = producers.map(() => [] as number[]);
        for (const out of outs) {
          const last = new Map<number, number>();
          for (const [id, seq, size] of readResult<[number, number, number][]>(out)) {
            assert.equal(size, producers[id]!.size);
            assert.ok((last.get(id) ?? -1) < seq, `consumer saw producer ${id} out of order`);
            last.set(id, seq);
            perProducer[id]!.push(seq);
          }
        }
        producers.forEach((p, id) => {
          const expected = Math.min(p.count, p.size > 100_000 ? 5 : p.count);
          assert.deepEqual(perProducer[id]!.sort((a, b) => a - b), Array.from({ length: expected }, (_, i) => i));
        });
        assert.equal(got.length, perProducer.flat().length);
        assert.equal(q.qsize(), 0);
        q.close();
      },
    ),
    { numRuns: 6 },
  );
  const sideSegments = readdirSync('/dev/shm').filter((n) => n.startsWith(`mpq-${process.pid}-`) && n.includes('.'));
  assert.deepEqual(sideSegments, [], 'every side segment was unlinked by its reader');
});
