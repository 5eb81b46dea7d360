// Helpers for the shared-memory and synchronisation tests: run a fixture in
// a child process with library objects passed the way Process passes them.
import { spawn } from 'node:child_process';
import { serialize } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { readdirSync } from 'node:fs';
import { encodeForTransfer } from '../src/transfer/shareable.ts';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running fixture child: its stdout lines as they come, and its end. */
export interface ChildHandle {
  pid: number;
  line(): Promise<string>;
  done: Promise<ChildRun>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `test/fixtures/sync-child.ts` in `mode` with `payload` encoded like Process arguments. */
export function startChild(mode: string, payload: unknown, file = 'sync-child.ts'): ChildHandle {
  const encoded = Buffer.from(serialize(encodeForTransfer(payload, 'payload'))).toString('base64');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture(file), mode, encoded], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lines: string[] = [];
  const readers: ((line: string) => void)[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      const reader = readers.shift();
      if (reader) reader(line);
      else lines.push(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const done = new Promise<ChildRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    pid: child.pid!,
    line: () => {
      const ready = lines.shift();
      if (ready !== undefined) return Promise.resolve(ready);
      return new Promise<string>((resolve, reject) => {
        readers.push(resolve);
        void done.then((r) => reject(new Error(`child ended before printing a line: ${JSON.stringify(r)}`)));
      });
    },
    done,
    kill: (signal) => child.kill(signal),
  };
}

/** Runs a child to completion and asserts nothing about it. */
export function runChild(mode: string, payload: unknown): Promise<ChildRun> {
  return startChild(mode, payload).done;
}

/** Names in /dev/shm. */
export function shmNames(): Set<string> {
  return new Set(readdirSync('/dev/shm'));
}
