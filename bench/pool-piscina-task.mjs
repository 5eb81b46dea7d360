// piscina's worker-thread task for bench/pool.ts: the same tiny task as the others.
export default function tiny(x) {
  return x * 2;
}
