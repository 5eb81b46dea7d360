#!/usr/bin/env node
// The `multiproc` command. Subcommands live in the compiled library (dist/),
// so this file only routes: `multiproc worker …` runs a cluster worker, and
// `multiproc PROGRAM [ARGS…]` runs a program fork-ready.
const [subcommand, ...rest] = process.argv.slice(2);
if (subcommand === 'worker') {
  const { main } = await import('../dist/cluster/worker-command.js');
  await main(rest);
} else {
  const { main } = await import('../dist/process/fork-ready-command.js');
  main(process.argv.slice(2));
}
