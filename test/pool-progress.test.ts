// `progress: true` on map/imap: a bar on a terminal, plain lines elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runProgram } from './support/run-program.ts';

const PROGRAM = fileURLToPath(new URL('./fixtures/pool-progress-run.ts', import.meta.url));
const TSX_LOADER = fileURLToPath(new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url));

test('off a terminal, progress prints plain lines on stderr at every tenth', async () => {
  const result = await runProgram(PROGRAM);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /done 9801 8555/);
  const lines = result.stderr.trim().split('\n');
  assert.ok(!result.stderr.includes('\u001b['), 'no terminal escapes in a log');
  const mapLines = lines.filter((line) => line.startsWith('map: '));
  assert.deepEqual(mapLines, Array.from({ length: 10 }, (_, i) => `map: ${(i + 1) * 10}/100 items (${(i + 1) * 10}%)`));
  // imap over a generator has no known total: lines at 1, 2, 5, 10, 20… items, and the final count.
  const imapLines = lines.filter((line) => line.startsWith('imap: '));
  assert.equal(imapLines[0], 'imap: 1 items done');
  assert.equal(imapLines.at(-1), 'imap: 30 items done');
});

test('on a pseudo-terminal, progress draws a bar that reaches 100%', () => {
  // script(1) gives the program a terminal; its output (stdout and stderr together) comes back here.
  const command = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(TSX_LOADER)} ${JSON.stringify(PROGRAM)}`;
  const run = spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8', timeout: 120_000 });
  const output = run.stdout;
  assert.equal(run.status, 0, `script(1) ended with ${run.status ?? run.signal ?? run.error}; it printed:\n${output}\n${run.stderr}`);
  assert.match(output, /done 9801 8555/);
  assert.match(output, /map \[[█░]+\] 100% \| 100\/100/, 'the bar for map reaches 100/100');
  assert.match(output, /imap 30 items/, 'imap without a known total counts items');
  assert.ok(output.includes('\u001b['), 'the bar is redrawn in place with terminal escapes');
  assert.ok(!/map: \d+\/100 items/.test(output), 'no plain lines on a terminal');
});
