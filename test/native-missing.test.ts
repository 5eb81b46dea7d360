// A package whose native core was never built (npm skipped its install
// script, or Node was upgraded since): importing it says so, with a stable
// code and the command that fixes it, instead of node-gyp-build's bare
// "No native build was found".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

test('importing multiproc without its native core built fails with ERR_MP_NATIVE_MISSING and what to run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'multiproc-unbuilt-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The package as npm would leave it with its install script skipped: dist/ and its dependencies, no build/.
  const unbuilt = join(dir, 'multiproc');
  cpSync(join(REPO, 'dist'), join(unbuilt, 'dist'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(unbuilt, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(unbuilt, 'node_modules'));
  const program =
    `import(${JSON.stringify(join(unbuilt, 'dist', 'index.js'))}).then(` +
    `() => console.log('imported'), (e) => console.log(JSON.stringify({ code: e.code, name: e.name, message: e.message, cause: String(e.cause) })))`;
  const run = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const error = JSON.parse(run.stdout) as { code: string; name: string; message: string; cause: string };
  assert.equal(error.code, 'ERR_MP_NATIVE_MISSING');
  assert.equal(error.name, 'MultiprocError');
  assert.ok(error.message.includes(`not built for this Node (${process.version}) in ${unbuilt}`), error.message);
  assert.ok(error.message.includes('npm rebuild multiproc'), error.message);
  assert.ok(error.message.includes('npm install-scripts approve multiproc'), error.message);
  assert.match(error.cause, /No native build was found/);
});
