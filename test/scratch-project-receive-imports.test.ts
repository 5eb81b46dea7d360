// Issue 11, as a user meets it (receive-imports.test.ts is the in-repo test):
// an awaited queue.get() or conn.recv() imports the module of a class or
// function that the receiving process never loaded, as unpickling does;
// getSync() and recvSync() cannot wait for an import and fail, naming the
// class. From a project outside the repository, under every start method,
// with tsx and compiled with plain node. Each direction is covered: a child
// sends to the parent, and the parent sends to a child.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { scratchProject, type ScratchRun } from './support/scratch-project.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/scratch/${name}`, import.meta.url), 'utf8');
const definitions = fixture('late-definitions.ts');

type Method = 'spawn' | 'fork' | 'forkserver';

/** What a receiver prints once the message arrived whole (see receive-app.ts). */
const inParent = (id: number) =>
  `Receipt true id=${id} receipt ${id} for ticket A${id} / Ticket true seat=B${id} ticket B${id} / function label 3 / true LABEL 4!`;
const inChild = (id: number) => `Receipt receipt ${id} for ticket A${id} / Ticket ticket B${id} / label 3 / LABEL 4!`;

// Under tsx, where the class is in the source the user wrote (V8 places a class
// that has a constructor at the constructor); compiled JavaScript run without
// source maps, what ran.
const definitionLines = definitions.split('\n');
const RECEIPT_CONSTRUCTOR = definitionLines.indexOf('class Receipt {') + 2;
assert.equal(definitionLines[RECEIPT_CONSTRUCTOR - 1], '  constructor(');
const receiptSite = (runner: 'tsx' | 'node', module: string) =>
  runner === 'tsx' ? `/${module}\\.ts:${RECEIPT_CONSTRUCTOR}:3` : `/out/${module}\\.js:\\d+:\\d+`;

/** The synchronous receive's failure, naming the class and where it is defined. */
const notLoaded = (what: string, site: string) =>
  new RegExp(
    `^${what} failed: TypeError: an instance of class Receipt \\(file:///.*${site}\\) arrived, ` +
      'but that class is not loaded in this process, or its module keeps no reference to it\\. Export it from its module',
  );

function assertReceivesImport(run: ScratchRun, method: Method, runner: 'tsx' | 'node'): void {
  const context = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  // fork is emulated in these programs (not run fork-ready): forked from the zygote where its
  // children can import what a booted child can (plain node), booted under tsx's loader thread.
  const origin = method === 'forkserver' || (method === 'fork' && runner === 'node') ? 'forked' : 'booted';
  // A forked child under tsx cannot import(): its loader's hooks thread is not
  // there. It refuses at once, naming the module and the remedy, instead of
  // waiting forever; compiled JavaScript under plain node has no such thread.
  const childCannotImport = method === 'forkserver' && runner === 'tsx';
  const refused = (what: string) =>
    new RegExp(
      `^child ${what} failed: MultiprocError ERR_MP_NOT_IN_FORKED_CHILD: cannot import file:///.*/late-to-child\\.ts here: ` +
        '.*hooks on a thread.*setForkserverPreload',
    );
  const expected: (string | RegExp)[] = [
    // A child sends; the parent has not loaded late-queue or late-pipe.
    `sent by a ${origin} child`,
    'parent loaded: none',
    notLoaded('queue getSync', receiptSite(runner, 'late-queue')),
    notLoaded('pipe recvSync', receiptSite(runner, 'late-pipe')),
    // Each awaited receive imports its own message's module, nothing more.
    'after queue get, parent loaded: late-queue',
    `queue get: ${inParent(2)}`,
    'after pipe recv, parent loaded: late-queue,late-pipe',
    `pipe recv: ${inParent(4)}`,
    'sender exit 0',
    // The parent sends; the child has not loaded late-to-child.
    `child received by a ${origin} child`,
    ...(childCannotImport
      ? [refused('queue get'), refused('pipe recv'), notLoaded('child queue getSync', receiptSite(runner, 'late-to-child'))]
      : // The third comes through getSync: once a get imported the module, a sync receive finds it too.
        [`child queue get: ${inChild(5)}`, `child pipe recv: ${inChild(6)}`, `child queue getSync: ${inChild(7)}`]),
    'receiver exit 0',
  ];
  const lines = run.stdout.trimEnd().split('\n');
  assert.equal(lines.length, expected.length, context);
  expected.forEach((line, i) => {
    if (typeof line === 'string') assert.equal(lines[i], line, context);
    else assert.match(lines[i]!, line, context);
  });
}

for (const method of ['spawn', 'fork', 'forkserver'] as const) {
  test(`an awaited get() and recv() import the module of an unloaded class or function; getSync() and recvSync() name the class (${method}, tsx and plain node)`, async () => {
    using project = scratchProject();
    // One copy of the definitions per receive, so that each receive is the one to import its copy
    // (late-definitions.ts itself only gives the program its types).
    project.write({
      'receive-app.ts': fixture('receive-app.ts'),
      'late-definitions.ts': definitions,
      'late-queue.ts': definitions,
      'late-pipe.ts': definitions,
      'late-to-child.ts': definitions,
    });
    assertReceivesImport(await project.tsx('receive-app.ts', [method]), method, 'tsx');
    assertReceivesImport(await project.compileAndNode('receive-app.ts', [method]), method, 'node');
  });
}
