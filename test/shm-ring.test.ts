// The ring under Queue and Pipe, on its own: a 4 KiB ring with several
// producer and consumer processes fills, wraps and pads on nearly every
// message, which is where reserve/take/reclaim races would show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Process } from '../src/index.ts';
import { NOTHING, ShmRing } from '../src/channels/shm-ring.ts';
import { waitSync } from '../src/channels/shm-ring-wait.ts';
import { ringConsume, ringProduce } from './fixtures/ring-targets.ts';
import { readResult, resultPath } from './support/result-files.ts';

test('a 4 KiB ring under 2 producers and 2 consumers delivers every message once, intact, FIFO per producer', { timeout: 120_000 }, async () => {
  const ring = ShmRing.create(4096);
  const PER_PRODUCER = 4000;
  try {
    const outs = [resultPath(), resultPath()];
    const consumers = outs.map((out) => new Process({ target: ringConsume, args: [ring.name, out] }));
    const producers = [0, 1].map((id) => new Process({ target: ringProduce, args: [ring.name, id, PER_PRODUCER] }));
    for (const p of [...consumers, ...producers]) p.start();
    await Promise.all(producers.map((p) => p.join()));
    const space = ring.spaceWaitTarget();
    for (const _ of consumers) waitSync(() => (ring.tryPut(new Uint8Array(1)) ? true : NOTHING), space);
    await Promise.all(consumers.map((p) => p.join()));
    assert.deepEqual([...consumers, ...producers].map((p) => p.exitCode), [0, 0, 0, 0]);
    const seen = [new Set<number>(), new Set<number>()];
    for (const out of outs) {
      const last = [-1, -1];
      for (const [id, seq, intact] of readResult<[number, number, boolean][]>(out)) {
        assert.ok(intact, `message ${id}/${seq} arrived intact`);
        assert.ok(seq > last[id]!, `producer ${id}: ${seq} after ${last[id]} (FIFO per producer)`);
        last[id] = seq;
        assert.ok(!seen[id]!.has(seq), `message ${id}/${seq} delivered once`);
        seen[id]!.add(seq);
      }
    }
    assert.deepEqual(seen.map((s) => s.size), [PER_PRODUCER, PER_PRODUCER]);
    assert.equal(waitSync(() => ring.tryTake(() => 1), ring.dataWaitTarget(), 0), NOTHING, 'nothing is left over');
  } finally {
    ring.destroy();
  }
});
