// The status bar's words and numbers, from a host's boot result and emulator stats. No DOM:
// statusFigures.test.ts runs under Node.
import type { BootResult } from '../common/host/Host';

const secondsText = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** How a host started and how long it took: "restored from saved state in 0.41 s", "cold boot in 6.2 s". */
export function startText(boot: Pick<BootResult, 'bootMs' | 'fromState'>): string {
  return boot.fromState ? `restored from saved state in ${secondsText(boot.bootMs)}` : `cold boot in ${secondsText(boot.bootMs)}`;
}

/** Why a host booted cold although a saved state was offered, for a tooltip; undefined otherwise. */
export function startNote(boot: Pick<BootResult, 'fromState' | 'stateProblem'>): string | undefined {
  return !boot.fromState && boot.stateProblem ? `not restored: ${boot.stateProblem}` : undefined;
}

/**
 * Emulator speed: whole MIPS from 10 up, one decimal below (an idle guest halts and runs few), and
 * undefined before there is a figure (Host.stats() reports 0 on its first call, with no interval).
 */
export function mipsText(mips: number | undefined): string | undefined {
  if (mips === undefined || !Number.isFinite(mips) || mips <= 0) return undefined;
  return `${mips >= 10 ? Math.round(mips) : mips.toFixed(1)} MIPS`;
}

/** Page load (navigation) to every host of the tab ready: "hosts ready 1.04 s after page load". */
export function pageReadyText(ms: number, hosts: number): string {
  return `${hosts === 1 ? 'host' : `${hosts} hosts`} ready ${secondsText(ms)} after page load`;
}
