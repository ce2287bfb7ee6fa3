import type { Migration } from './containerOps';
import { formatDuration } from './migration';
import { PING_INTERVAL_MS } from './pingProbe';

/** Each 100 ms slot is this many SVG units wide: a 3-unit mark and a 1-unit gap. */
const SLOT = 4;
const HEIGHT = 18;

/** The ping from another container during a migration: one mark per 100 ms, the frozen window shaded. */
export function PingTimelineView({ ping }: { ping: NonNullable<Migration['ping']> }) {
  const { timeline, note } = ping;
  if (!timeline) return <div className="ping-timeline muted small" data-testid="ping-timeline" data-state="none">{note}</div>;
  const view = timeline.view(Date.now());
  const width = Math.max(view.slots.length * SLOT, SLOT);
  const { frozen } = view;
  const frozenTo = frozen?.to ?? view.slots.length - 1;
  return (
    <div className="ping-timeline" data-testid="ping-timeline" data-state={view.stopped ? 'stopped' : 'running'}
      data-slots={view.slots.length} data-missed={view.missed}>
      <div className="small">
        <span className="muted">{note}:</span>{' '}
        <span data-testid="ping-counts">
          {view.answered} answered, <b className={view.missed ? 'alarm' : undefined}>{view.missed} missed</b>
          {view.longestGap > 0 && <> (longest gap {formatDuration(view.longestGap * PING_INTERVAL_MS)})</>}
        </span>
      </div>
      <svg className="ping-slots" viewBox={`0 0 ${width} ${HEIGHT}`} width={width} height={HEIGHT} preserveAspectRatio="none"
        role="img" aria-label={`ping timeline: ${view.answered} answered, ${view.missed} missed`}>
        {frozen && (
          <rect className="frozen" data-testid="ping-frozen" x={frozen.from * SLOT - 0.5} y={0}
            width={(frozenTo - frozen.from + 1) * SLOT} height={HEIGHT} />
        )}
        {view.slots.map((state, seq) => (
          <rect key={seq} className={`slot ${state}`} data-testid="ping-slot" data-state={state} x={seq * SLOT}
            y={state === 'missed' ? 1 : state === 'answered' ? 5 : 8} width={SLOT - 1} height={state === 'missed' ? 16 : state === 'answered' ? 8 : 2} />
        ))}
      </svg>
      <div className="muted small ping-legend">
        <span className="key answered" /> answered <span className="key missed" /> missed <span className="key frozen" /> frozen
        {' '}(the kernel answers pings while the processes are frozen: a gap shows the network switching over)
      </div>
    </div>
  );
}
