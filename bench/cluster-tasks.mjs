// The tiny task of bench/cluster.ts, as plain JS so that `multiproc worker --module` needs no loader.
export function tiny(x) {
  return x * 2;
}
