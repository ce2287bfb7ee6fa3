import type { BootPhase, BootProgress } from '../common/host/Host';

const PHASES: { phase: BootPhase; label: string }[] = [
  { phase: 'fetch', label: 'Fetching guest images' },
  { phase: 'kernel', label: 'Firmware and Linux kernel' },
  { phase: 'init', label: 'Host init' },
  { phase: 'ready', label: 'Shell ready' },
];

/** A host restored from the saved state skips the kernel and init. */
const RESTORE_PHASES: { phase: BootPhase; label: string }[] = [
  { phase: 'fetch', label: 'Fetching guest images' },
  { phase: 'restore', label: 'Restoring the saved state' },
  { phase: 'ready', label: 'Shell ready' },
];

/** The boot phases as steps, with bytes while fetching and the elapsed time. */
export function BootProgressBar({ progress }: { progress: BootProgress | undefined }) {
  const phases = progress?.phase === 'restore' ? RESTORE_PHASES : PHASES;
  const current = phases.findIndex((p) => p.phase === (progress?.phase ?? 'fetch'));
  const fetchFraction = progress?.totalBytes ? (progress.loadedBytes ?? 0) / progress.totalBytes : 0;
  const fraction = (current + (current === 0 ? fetchFraction : 0.5)) / phases.length;
  return (
    <div className="boot-progress" role="progressbar" aria-valuenow={Math.round(fraction * 100)} aria-valuemin={0} aria-valuemax={100}>
      <div className="bar"><div className="fill" style={{ width: `${fraction * 100}%` }} /></div>
      <ol>
        {phases.map((p, i) => (
          <li key={p.phase} className={i < current ? 'done' : i === current ? 'active' : ''}>
            {p.label}
            {p.phase === 'fetch' && progress?.totalBytes
              ? ` (${(progress.loadedBytes! / 1e6).toFixed(1)} / ${(progress.totalBytes / 1e6).toFixed(1)} MB)`
              : ''}
          </li>
        ))}
      </ol>
      <div className="elapsed">{((progress?.elapsedMs ?? 0) / 1000).toFixed(1)} s</div>
    </div>
  );
}
