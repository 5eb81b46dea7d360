// Polling for something that happens in another process, with a generous bound that names what it waited for.

/** Resolves once `check()` is true, polling every 20 ms; throws after `boundMs`, naming `what`. */
export async function waitFor(what: string, check: () => boolean, boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`waited ${boundMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
