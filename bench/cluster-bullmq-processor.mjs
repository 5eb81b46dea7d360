// The anchor of bench/cluster.ts: a BullMQ sandboxed processor file doing the same tiny task, one job per item.
export default async function (job) {
  return job.data * 2;
}
