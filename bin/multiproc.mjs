#!/usr/bin/env node
// The `multiproc` command. Subcommands live in the compiled library (dist/),
// so this file only routes: `multiproc worker …` runs a cluster worker.
// Running a program fork-ready (`multiproc app.ts`) is planned (issue 9) and
// refused clearly until then, rather than failing on a missing module.
const [subcommand, ...rest] = process.argv.slice(2);
if (subcommand === 'worker') {
  const { main } = await import('../dist/cluster/worker-command.js');
  await main(rest);
} else {
  process.stderr.write(
    'usage: multiproc worker --connection redis://HOST:PORT --queue NAME --module ./tasks.js [--processes N]\n' +
      '(running a program fork-ready, `multiproc app.ts`, is not available yet)\n',
  );
  process.exitCode = 2;
}
