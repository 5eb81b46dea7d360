// The transfer walker's handling of class instances, errors and bound
// functions, in one process: encode as the sender does, then decode as the
// receiver would (both sides see the same classes here). The cross-process
// cases are in test/scratch-project-*.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { serialize, deserialize } from 'node:v8';
import { decodeFromTransfer, encodeForTransfer } from '../src/transfer/shareable.ts';
import { decodeError, encodeError } from '../src/transfer/error-transfer.ts';
import { referenceFunction } from '../src/transfer/function-reference.ts';
import { onInspectorEvent } from '../src/transfer/inspector-session.ts';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { runProgram } from './support/run-program.ts';
import { instantiateClass } from '../src/transfer/class-reference.ts';
import { UnserializableError } from '../src/index.ts';

class Node2 {
  next: Node2 | null = null;
  constructor(public label: string) {}
  describe(): string {
    return `node ${this.label}`;
  }
}
class WithPrivate {
  #hidden = 1;
  peek(): number {
    return this.#hidden;
  }
}
class CodedError extends Error {
  constructor(
    message: string,
    public code: string,
    public detail: Node2,
  ) {
    super(message);
    this.name = 'CodedError';
  }
}
function add(a: number, b: number): number {
  return a + b;
}

const roundTrip = (value: unknown, path = 'value') => decodeFromTransfer(deserialize(serialize(encodeForTransfer(value, path))));

test('an instance keeps its class and fields, shared and cyclic references included', () => {
  const a = new Node2('a');
  const b = new Node2('b');
  a.next = b;
  b.next = a;
  const [first, again] = roundTrip([a, a]) as Node2[];
  assert.ok(first instanceof Node2);
  assert.equal(first.describe(), 'node a');
  assert.equal(first, again);
  assert.ok(first.next instanceof Node2);
  assert.equal(first.next!.next, first);
});

test('plain data, binary data and built-in cloneable types are untouched', () => {
  const value = { n: 1n, d: new Date(0), r: /x/g, m: new Map([[1, new Set([2])]]), u: new Uint8Array([1, 2]), e: new RangeError('r'), nul: Object.create(null) };
  const back = roundTrip(value) as typeof value;
  assert.equal(back.n, 1n);
  assert.ok(back.d instanceof Date && back.r instanceof RegExp && back.m.get(1)!.has(2));
  assert.deepEqual([...back.u], [1, 2]);
  assert.ok(back.e instanceof RangeError);
  assert.equal(Object.getPrototypeOf(back.nul) === null || Object.getPrototypeOf(back.nul) === Object.prototype, true);
});

test('objects with native state and private fields fail with the path of the value', () => {
  const socket = new Socket();
  assert.throws(
    () => encodeForTransfer({ list: [1, { socket }] }, 'queue item'),
    (error: unknown) => error instanceof UnserializableError && /^queue item\.list\[1\]\.socket cannot be sent .*Socket \(from node:net\)/.test(error.message),
  );
  socket.destroy();
  assert.throws(
    () => encodeForTransfer([new WithPrivate()], 'task result'),
    (error: unknown) => error instanceof UnserializableError && /^task result\[0\] cannot be sent .*WithPrivate, whose private #fields/.test(error.message),
  );
  const makeClass = (base: number) =>
    class Made {
      value = base;
    };
  const Made = makeClass(1);
  assert.throws(() => encodeForTransfer({ made: new Made() }, 'args[1]'), /args\[1\]\.made cannot be sent .*Made, a class defined inside a function, which another process cannot find/);
  const custom = Object.create({ method() {} });
  assert.throws(() => encodeForTransfer(custom, 'args[0]'), /args\[0\] cannot be sent .*custom prototype but no class/);
});

test('an instance of a class this process cannot find fails naming the class', () => {
  assert.throws(
    () => instantiateClass({ classReference: { name: 'Gone', url: 'file:///nowhere/gone.ts', line: 3, column: 4 }, fields: {} }),
    /an instance of class Gone \(file:\/\/\/nowhere\/gone\.ts:4:5\) arrived, but that class is not loaded/,
  );
});

test('an error keeps its own class, message, fields and remote stack as cause', () => {
  const original = new CodedError('quota', 'E_Q', new Node2('n'));
  const wire = deserialize(serialize(encodeError(original)));
  const error = decodeError(wire, (stack) => Object.assign(new Error(stack), { name: 'RemoteTraceback' })) as CodedError;
  assert.ok(error instanceof CodedError);
  assert.equal(error.name, 'CodedError');
  assert.equal(error.message, 'quota');
  assert.equal(error.code, 'E_Q');
  assert.ok(error.detail instanceof Node2);
  assert.equal((error.cause as Error).message, original.stack);
  assert.match((error.cause as Error).message, /transfer\.test\.ts:\d+:\d+/);
});

test('a field that cannot travel is replaced by a note saying why, and the error still arrives', () => {
  const original = Object.assign(new Error('with socket'), { socket: new Socket(), code: 'E_S' });
  const error = decodeError(encodeError(original), (stack) => new Error(stack)) as Error & { socket: unknown; code: string };
  original.socket.destroy();
  assert.equal(error.code, 'E_S');
  assert.match(String(error.socket), /^<not sent: error field \.socket cannot be sent .*Socket/);
});

test('a bound module-level function is its target by reference plus its bound values', () => {
  const reference = referenceFunction(add.bind(null, 2), 'task function');
  assert.equal(reference.name, 'add');
  // The test's own closure uses add, so its module keeps it: no capture is needed in a child.
  assert.equal(reference.unreachable, false);
  assert.deepEqual(reference.bound?.args, [2]);
  assert.throws(() => referenceFunction(add.bind(null, (() => 1) as never), 'task function'), /task function 'bound add' bound arguments\[0\] cannot be sent/);
});

test("a function's module is found without enabling the debugger, whose first enable hashes every loaded script", async () => {
  // Loaded only now, and never called: their scripts are new to the lookup.
  const esmUrl = new URL('./fixtures/esm-target.mjs', import.meta.url);
  const { mjsTarget } = (await import(esmUrl.href)) as { mjsTarget: Function };
  const { cjsTarget } = createRequire(import.meta.url)('./fixtures/commonjs-target.cjs') as { cjsTarget: Function };
  // An enabled debugger replays scriptParsed for every loaded script.
  let replayed = 0;
  const stop = onInspectorEvent('Debugger.scriptParsed', () => replayed++);
  try {
    assert.equal(referenceFunction(mjsTarget, 'target').url, esmUrl.href);
    const cjsPath = fileURLToPath(new URL('./fixtures/commonjs-target.cjs', import.meta.url));
    // A CommonJS script is named by its path (by a file: URL in newer Node).
    assert.ok([cjsPath, new URL(`file://${cjsPath}`).href].includes(referenceFunction(cjsTarget, 'target').url));
    assert.equal(replayed, 0);
  } finally {
    stop();
  }
});

test("sending a function does not read Node's lazy globals, which would load their modules (fetch: undici)", async () => {
  // Listing the global scope's variables read every lazy global: on Node 22
  // and 24 the first function sent loaded ~80 of Node's modules (35 ms; 150 ms
  // in a fork-ready program, which compiles each in full).
  for (const nodeOptions of [[], ['--expose-internals']]) {
    const run = await runProgram(fileURLToPath(new URL('./fixtures/lazy-globals-program.ts', import.meta.url)), { nodeOptions });
    assert.equal(run.code, 0, run.stderr);
    const { name, loaded } = JSON.parse(run.stdout.trim()) as { name: string; loaded: string[] };
    assert.equal(name, 'task');
    assert.deepEqual(loaded.filter((module) => /undici|fetch|websocket|eventsource/i.test(module)), [], `loaded: ${loaded.join(', ')}`);
  }
});

test('with Node\'s internals (a fork-ready program), an exported function\'s module is found among the loaded ones, not by listing every script', async () => {
  const run = await runProgram(fileURLToPath(new URL('./fixtures/lookup-program.ts', import.meta.url)), { nodeOptions: ['--expose-internals'] });
  assert.equal(run.code, 0, run.stderr);
  const { urls, scans } = JSON.parse(run.stdout.trim());
  const defining = new URL('./fixtures/lookup-defining.mjs', import.meta.url).href;
  const reexporting = new URL('./fixtures/lookup-reexporting.mjs', import.meta.url).href;
  // beta's module exports it; alpha's re-exporter does too, but has not its source where V8 says alpha is.
  const unexported = new URL('./fixtures/lookup-unexported.mjs', import.meta.url).href;
  assert.deepEqual(urls, { beta: reexporting, alpha: defining, gamma: defining, delta: unexported });
  assert.equal(scans.beta, 0);
  assert.equal(scans.alpha, 0);
  // gamma is exported by no module, but lives in a script already named by alpha.
  assert.equal(scans.gamma, 0);
  // delta's module exports no function: the one listing names it.
  assert.equal(scans.delta, 1);
});
