// The timer pair the network's delays and heartbeats run on, injectable so tests drive time.

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The host environment's timers, looked up at each call (not captured once), so test doubles that
 * replace the globals (vitest's fake timers) take effect.
 */
export const globalTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle),
};
