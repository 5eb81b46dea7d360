#!/usr/bin/env node
// The `multiproc` command. Subcommands live in the compiled library (dist/),
// so this file only routes: `multiproc worker …` runs a cluster worker, and
// `multiproc PROGRAM [ARGS…]` runs a program fork-ready.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Only when run as the command. Imported, it does nothing: a forkserver (or
// emulated-fork) zygote imports the program's main module, which under
// `multiproc worker` is this file, and must not run the command again there.
const isTheCommand = process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
const [subcommand, ...rest] = process.argv.slice(2);
if (!isTheCommand) {
  // Nothing to do.
} else if (subcommand === 'worker') {
  const { main } = await import('../dist/cluster/worker-command.js');
  await main(rest);
} else {
  const { main } = await import('../dist/process/fork-ready-command.js');
  main(process.argv.slice(2));
}
