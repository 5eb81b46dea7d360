// A zygote forks while its own libuv requests (fs calls) are in flight:
// their threads stay in the zygote, so the child must neither wait for them
// nor miss what finished just before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { getContext } from '../src/index.ts';
import { exitCleanly } from './fixtures/zygote-stuck-request.ts';
import { readResult, resultPath } from './support/result-files.ts';

const JOIN_BOUND_MS = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'multiproc-zygote-requests-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fifo = join(dir, 'fifo');
execFileSync('mkfifo', [fifo]);
// Read by the fixtures in the zygote, which inherits this environment when it boots.
process.env.ZYGOTE_TEST_PROGRAM_PID = String(process.pid);
process.env.ZYGOTE_TEST_FIFO = fifo;
process.env.ZYGOTE_TEST_DIR = dir;
const forkserver = getContext('forkserver');

test('a zygote child exits although a request of the zygote was in flight when it forked', async () => {
  // The zygote imported the fixture with this program and is blocked opening the FIFO.
  const p = new forkserver.Process({ target: exitCleanly });
  p.start();
  await p.join(JOIN_BOUND_MS);
  if (p.exitCode === null) p.kill();
  assert.equal(p.exitCode, 0, `the child did not exit within ${JOIN_BOUND_MS} ms`);
  // Release the zygote's open, so that later forks need not wait for it.
  closeSync(openSync(fifo, 'w'));
});

test('writes the zygote started while importing the target are done before it forks', async () => {
  // Imported here for the first time, so the zygote imports it while serving this start.
  const { reportWrites } = await import('./fixtures/zygote-busy-writes.ts');
  const out = resultPath();
  const p = new forkserver.Process({ target: reportWrites, args: [out] });
  p.start();
  await p.join(JOIN_BOUND_MS);
  if (p.exitCode === null) p.kill();
  assert.equal(p.exitCode, 0, `the child did not exit within ${JOIN_BOUND_MS} ms`);
  const seen = readResult(out);
  assert.equal(seen.finished, seen.of);
});
