/**
 * Who is calling a referent's method right now, for referents whose
 * behaviour depends on the caller (RLock and Condition ownership). The
 * server sets it around the synchronous part of each call; a referent reads
 * it before its first await. An owner is one client process, whichever of
 * its connections (async or sync) the call came on.
 */
export const callContext = { owner: '' };
