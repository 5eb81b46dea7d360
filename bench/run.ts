/**
 * `npm run bench`: every benchmark, each beside its anchor (Python's
 * multiprocessing via python3, piscina) measured in the same run, printed
 * with the ratio and written to bench/RESULTS.md with the date and machine.
 * Run it on an otherwise idle machine: these are 2-core shared hosts.
 * The library is imported from dist/ (built by `prebench`), as its users get it,
 * not through tsx, whose module wrappers add ~20% to a tight loop.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './bench-row.ts';

type Suite = [title: string, module: string, exportName: string];

const suites: Suite[] = [
  ['Process start+join (issue 2)', './process-start.ts', 'runProcessStartBench'],
  ['Bursts, cold pools and forked children (issue 9)', './start-burst.ts', 'runStartBurstBench'],
  ['Shared values and locks (issue 3)', './shared-value.ts', 'runSharedValueBench'],
  ['Pipe and Queue (issue 4)', './queue.ts', 'runQueueBench'],
  ['Pool (issue 5)', './pool.ts', 'runPoolBench'],
  ['Managers (issue 13)', './manager.ts', 'runManagerBench'],
  ['ClusterPool on BullMQ (issue 14)', './cluster.ts', 'runClusterBench'],
];

function ratio(row: BenchRow): number {
  return row.higherIsBetter ? row.ours / row.anchor : row.anchor / row.ours;
}

function format(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

const only = process.argv.slice(2);
const loadAtStart = loadavg().map((l) => l.toFixed(2)).join(', ');
const sections: string[] = [];
for (const [title, module, exportName] of suites) {
  if (only.length > 0 && !only.some((word) => title.toLowerCase().includes(word.toLowerCase()))) continue;
  if (!existsSync(fileURLToPath(new URL(module, import.meta.url)))) continue;
  console.log(`\n## ${title}`);
  const run = (await import(module))[exportName] as () => Promise<BenchRow[]>;
  const rows = await run();
  const lines = ['| benchmark | multiproc | anchor | anchor value | better by |', '|---|---|---|---|---|'];
  for (const row of rows) {
    const line = `| ${row.name} | ${format(row.ours)} ${row.unit} | ${row.anchorName} | ${format(row.anchor)} ${row.unit} | ${ratio(row).toFixed(2)}x |`;
    console.log(`${row.name}: ${format(row.ours)} ${row.unit} vs ${row.anchorName} ${format(row.anchor)} ${row.unit} → ${ratio(row).toFixed(2)}x`);
    lines.push(line);
  }
  sections.push(`## ${title}\n\n${lines.join('\n')}\n`);
}

const python = execFileSync('python3', ['--version'], { encoding: 'utf8' }).trim();
const header = [
  '# Benchmark results',
  '',
  'Written by `npm run bench`; "better by" is how many times multiproc beats the anchor',
  '(below 1.00x, the anchor is faster). Anchors run in the same process tree, in the same run.',
  '',
  `- date: ${new Date().toISOString()}`,
  `- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
  `- Node ${process.version}, ${python}`,
  `- load average at start (1, 5, 15 min): ${loadAtStart}; the machine is shared, so compare ratios, not absolute figures`,
  // Node reads the file at every boot: here it took Node's boot from ~35 to ~85 ms.
  ...(process.env.NODE_EXTRA_CA_CERTS ? ['- NODE_EXTRA_CA_CERTS is set: every Node boot (spawned children, zygotes) reads that file first'] : []),
  '',
].join('\n');
if (only.length === 0) {
  writeFileSync(fileURLToPath(new URL('./RESULTS.md', import.meta.url)), `${header}\n${sections.join('\n')}`);
  console.log('\nwritten to bench/RESULTS.md');
}
process.exit(0);
