// `npm run demo`: runs the seed's two programs, then the pool demo, each as
// its own program exactly as `npx tsx examples/NAME.ts` would.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const demos: Array<[string, string]> = [
  ['globals-fork.ts', 'fork: the child sees a snapshot of the parent\'s globals'],
  ['globals-spawn.ts', 'spawn: the child has no such global, fails, and exits with code 1'],
  ['shared-counter.ts', 'Value: two processes increment a shared counter under its lock'],
  ['pool-progress.ts', 'Pool: a CPU-heavy map with a progress bar, against a serial loop'],
];

const loader = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
let failed = false;
for (const [file, title] of demos) {
  const path = fileURLToPath(new URL(`./${file}`, import.meta.url));
  if (!existsSync(path)) continue;
  console.log(`\n=== examples/${file} — ${title}\n`);
  const run = spawnSync(process.execPath, ['--import', loader, path], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`examples/${file} exited with ${run.status ?? run.signal}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
