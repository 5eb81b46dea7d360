// Children report to the test through files: their stdout belongs to the test runner.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const dir = mkdtempSync(join(tmpdir(), 'multiproc-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

export function resultPath(): string {
  return join(dir, `result-${++counter}.json`);
}

export function readResult<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
