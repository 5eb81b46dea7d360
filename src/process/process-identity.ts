/**
 * Who the current process is in the multiproc tree. The main process is
 * 'MainProcess' with an empty identity; a child learns its identity from its
 * launch payload, and its own children extend it (Process-2:1, ...).
 */
export interface CurrentProcessState {
  name: string;
  identity: number[];
  daemon: boolean;
  isChild: boolean;
  parentPid: number | null;
  parentName: string | null;
  /** True while a child is still importing its target's module. */
  bootstrapping: boolean;
}

export const currentState: CurrentProcessState = {
  name: 'MainProcess',
  identity: [],
  daemon: false,
  isChild: false,
  parentPid: null,
  parentName: null,
  bootstrapping: false,
};

let childCounter = 0;

export function nextChildIdentity(): number[] {
  childCounter += 1;
  return [...currentState.identity, childCounter];
}

/** Called once in a child, before any user code runs. */
export function adoptChildState(state: Omit<CurrentProcessState, 'isChild' | 'bootstrapping'>): void {
  Object.assign(currentState, state, { isChild: true, bootstrapping: true });
  childCounter = 0;
}
