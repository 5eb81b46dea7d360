// Whether forks copy the page tables of Node's code: decided by what a page fault costs here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstTouchFaultNanos } from '../src/platform/native.ts';
import { copyingCodeMappingsPays } from '../src/process/inherited-code-mappings.ts';

test("a first-touch page fault's cost is measured natively, in ns", () => {
  const nanos = firstTouchFaultNanos();
  assert.ok(typeof nanos === 'number' && nanos > 0 && nanos < 10_000_000, `measured ${nanos} ns a fault`);
});

test('MULTIPROC_COPY_CODE_MAPPINGS decides; otherwise forks copy code mappings only where faults are dear', () => {
  assert.equal(copyingCodeMappingsPays('1', () => 1), true);
  assert.equal(copyingCodeMappingsPays('0', () => 1_000_000), false);
  // The two machines measured: 10–30 µs a fault (copying won), 2–3 µs (it lost).
  assert.equal(copyingCodeMappingsPays(undefined, () => 20_000), true);
  assert.equal(copyingCodeMappingsPays(undefined, () => 2_500), false);
  assert.equal(copyingCodeMappingsPays('yes', () => 2_500), false);
  // One round the scheduler interrupted does not make faults look dear.
  const rounds = [50_000, 2_500, 2_600];
  assert.equal(copyingCodeMappingsPays(undefined, () => rounds.shift()!), false);
  // No memory to measure with: left as Node leaves it.
  assert.equal(copyingCodeMappingsPays(undefined, () => null), false);
});
