import { useState, type DragEvent } from 'react';
import type { ClusterHost } from '../common/network/types';
import type { Migration } from './containerOps';
import { abortButton, formatDuration, migrationStep, migrationSummary, roundsLine } from './migration';
import { PingTimelineView } from './PingTimelineView';
import type { PanelSession } from './session';

/** The drag payload of a container row: which container, from which host. */
const DRAG_TYPE = 'application/x-ctlab-container';

interface Dragged { node: string; name: string }

/** Makes a container row draggable onto host cards (a move to that host). */
export function containerDragProps(node: string, name: string, enabled: boolean) {
  return {
    draggable: enabled,
    onDragStart: (e: DragEvent) => {
      e.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ node, name } satisfies Dragged));
      e.dataTransfer.setData('text/plain', name);
      e.dataTransfer.effectAllowed = 'move';
    },
  };
}

/** A host card as a drop target for container rows: dropping one migrates it to `host`. */
export function useHostDrop(session: PanelSession, host: string) {
  const [over, setOver] = useState(false);
  const carries = (e: DragEvent) => e.dataTransfer.types.includes(DRAG_TYPE);
  return {
    over,
    props: {
      'data-drop-over': over ? '' : undefined,
      onDragOver: (e: DragEvent) => {
        if (!carries(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        if (!over) setOver(true);
      },
      onDragLeave: (e: DragEvent) => {
        if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setOver(false);
      },
      onDrop: (e: DragEvent) => {
        setOver(false);
        if (!carries(e)) return;
        e.preventDefault();
        let dragged: Dragged;
        try {
          dragged = JSON.parse(e.dataTransfer.getData(DRAG_TYPE)) as Dragged;
        } catch {
          return;
        }
        if (dragged.node !== host) void session.migrate(dragged.node, dragged.name, host);
      },
    },
  };
}

/** The row's "Move to…" menu: every other host of the cluster, the keyboard way to migrate. */
export function MoveToMenu({ session, node, name, targets, onClose }: {
  session: PanelSession;
  node: string;
  name: string;
  targets: ClusterHost[];
  onClose: () => void;
}) {
  const localNames = new Set(session.cluster.nodes.map((n) => n.name));
  return (
    <div className="confirm neutral move-menu" role="dialog" aria-label={`Move ${name} to another host`}>
      <span>Move <b>{name}</b> while it runs to:</span>
      {targets.length === 0 && <span className="muted">no other host yet</span>}
      <span role="menu" aria-label="hosts">
        {targets.map((h) => {
          const ready = !localNames.has(h.name) || session.cluster.nodes.find((n) => n.name === h.name)?.ready;
          return (
            <button key={h.name} type="button" role="menuitem" disabled={!ready} data-target={h.name}
              autoFocus={h === targets[0]}
              onClick={() => { onClose(); void session.migrate(node, name, h.name); }}>
              {h.name} <span className="muted">{h.address.replace(/\/\d+$/, '')}{localNames.has(h.name) ? '' : ', other tab'}</span>
            </button>
          );
        })}
      </span>
      <button type="button" onClick={onClose}>Cancel</button>
    </div>
  );
}

/** A migration from this host: its progress while under way, its figures once done. */
export function MigrationView({ session, migration }: { session: PanelSession; migration: Migration }) {
  const { name, from, to, report } = migration;
  if (report) {
    return (
      <div className="migration done" role="status" data-testid="migration" data-container={name} data-to={to} data-state="done"
        data-frozen-ms={report.frozen_ms}>
        <span>
          <b>Moved {name} to {to}:</b> <span data-testid="migration-summary">{migrationSummary(report)}</span>
        </span>
        <button type="button" className="icon" aria-label="Dismiss the migration report" onClick={() => session.ops.dismissMigration(from, name)}>×</button>
        {migration.ping && <PingTimelineView ping={migration.ping} />}
      </div>
    );
  }
  const step = migrationStep(migration.phase);
  const source = session.cluster.nodes.find((n) => n.name === from);
  // Until the commit starts the source can still keep it; after, only the destination runs it.
  const abort = abortButton(migration.phase, migration.abort);
  return (
    <div className="migration" role="status" data-testid="migration" data-container={name} data-to={to} data-state="running"
      data-phase={migration.phase}>
      <span><span className="spinner" /> <b>Moving {name} to {to}</b> — <span data-testid="migration-phase">{step.label}</span></span>
      <progress max={1} value={step.fraction} aria-label={`migration of ${name}`} />
      <span className="muted small">{formatDuration(Math.max(0, Date.now() - migration.since))} so far</span>
      {migration.rounds.length > 0 && (
        <span className="rounds small" data-testid="migration-rounds">pre-copy {roundsLine(migration.rounds)}</span>
      )}
      {source && (
        <button type="button" data-testid="migration-abort" disabled={!abort.enabled}
          title="Stop the move: the container keeps running here"
          onClick={() => void session.ops.abortMigration(source, name)}>
          {abort.label}
        </button>
      )}
      {migration.abort?.state === 'refused' && (
        <span className="small error" role="alert">abort refused: {migration.abort.message}</span>
      )}
      {migration.ping && <PingTimelineView ping={migration.ping} />}
    </div>
  );
}
