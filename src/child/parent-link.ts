/**
 * The control channel between a child and its parent, kept open for the
 * child's whole life. Library components that run their own protocol over a
 * process (the pool's workers) use it; user code never sees it.
 */
import type { ControlChannel } from '../channels/control-channel.ts';

let link: ControlChannel | null = null;

/** Child side: the channel to the parent; null in the main process. */
export function parentChannel(): ControlChannel | null {
  return link;
}

export function setParentChannel(channel: ControlChannel): void {
  link = channel;
}
