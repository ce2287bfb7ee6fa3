import { useState } from 'react';
import type { ContainerInfo } from '../common/agent/protocol';
import type { ClusterNode } from '../common/cluster/Cluster';
import { rowErrorLine, type ContainerAction, type CrResult, type RowAction } from './containerOps';
import { ContainerGraphs } from './ContainerGraphs';
import { containerDragProps, MoveToMenu } from './MigrationView';
import type { PanelSession } from './session';
import { containerFigures, formatBytes, formatLimit } from './stats';

const UNDER_WAY: Record<ContainerAction, string> = {
  create: 'creating…', start: 'starting…', stop: 'stopping…', restart: 'restarting…', destroy: 'destroying…',
  checkpoint: 'checkpointing…', restore: 'restoring…', download: 'downloading…', migrate: 'migrating…',
};

/** Saves bytes as a file through the browser's download. */
function saveFile(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The containers of one host, each with its actions, errors and graphs. */
export function ContainerList({ session, node, onOpenTerminal }: {
  session: PanelSession;
  node: ClusterNode;
  onOpenTerminal: (name: string) => void;
}) {
  // A migration's ping probe is the panel's own, not the user's.
  const containers = node.containers.filter((c) => !session.ops.isHidden(node.name, c.name));
  const listed = new Set(containers.map((c) => c.name));
  // Being created and not listed yet: a row for its progress.
  const creating = session.ops.creatingOn(node.name).filter((name) => !listed.has(name));
  if (containers.length === 0 && creating.length === 0) {
    return <p className="muted empty">No containers yet.</p>;
  }
  return (
    <div className="ct-list" role="list" aria-label={`containers on ${node.name}`}>
      {containers.map((info) => (
        <ContainerRow key={info.name} session={session} node={node} info={info} onOpenTerminal={onOpenTerminal} />
      ))}
      {creating.map((name) => {
        const pending = session.ops.pendingOf(node.name, name);
        const action = pending?.action ?? 'create';
        return (
          <div key={name} className="ct-row" role="listitem" data-testid="container" data-host={node.name} data-container={name} data-state="creating" data-busy={action}>
            <div className="ct-main">
              <span className="ct-name">{name}</span>
              <span className="state">new</span>
              <span className="busy" role="status"><span className="spinner" /> {UNDER_WAY[action]}{pending?.phase && ` (${pending.phase})`}</span>
            </div>
          </div>
        );
      })}
    </div>
  );
}

function ContainerRow({ session, node, info, onOpenTerminal }: {
  session: PanelSession;
  node: ClusterNode;
  info: ContainerInfo;
  onOpenTerminal: (name: string) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [checkpointing, setCheckpointing] = useState(false);
  const [leaveRunning, setLeaveRunning] = useState(false);
  const [moving, setMoving] = useState(false);
  const { name, state } = info;
  const pending = session.ops.pendingOf(node.name, name);
  const error = session.ops.errorOf(node.name, name);
  const errorLine = error && rowErrorLine(error);
  const result = session.ops.resultOf(node.name, name);
  const figures = containerFigures(node.stats.get(name), info.cpus);
  const running = state === 'running';
  // Held still by a migration in doubt: not to be moved or stopped until the page settles it.
  const frozen = running && info.frozen;
  const busy = pending !== undefined || !node.ready || frozen;
  const run = (action: RowAction) => void session.ops.run(node, name, action);
  const checkpoint = () => {
    setCheckpointing(false);
    void session.ops.checkpoint(node, name, { leaveRunning });
  };
  const download = async () => {
    const file = await session.ops.download(node, name);
    if (file) saveFile(file.name, file.bytes);
  };
  return (
    <div className="ct-row" role="listitem" data-testid="container" data-host={node.name} data-container={name} data-state={state} data-frozen={frozen || undefined}
      data-busy={pending?.action} {...containerDragProps(node.name, name, running && !busy)}
      title={running && !busy ? 'Drag onto another host to move it there while it runs' : undefined}>
      <div className="ct-main">
        <span className="ct-name" title={`hostname ${info.hostname}, template ${info.template}`}>{name}</span>
        {frozen
          ? <span className="state state-frozen" title="Held still: a migration whose outcome is in doubt keeps this copy frozen until it is settled (exactly one copy ever runs)">frozen</span>
          : <span className={`state state-${state}`}>{state}</span>}
        <span className="ct-ip" data-testid="container-ip">{info.ip ?? 'no IP'}</span>
        <span className="ct-limits">
          <span title="memory limit">mem {formatLimit('memory', info.memory)}</span>
          <span title="process limit">pids {formatLimit('pids', info.pids)}</span>
          <span title="CPU limit">cpu {formatLimit('cpus', info.cpus)}</span>
          {info.privileged && <span className="tag">privileged</span>}
        </span>
      </div>
      <div className="ct-actions">
        {pending && (
          <span className="busy" role="status" data-phase={pending.phase}>
            <span className="spinner" /> {UNDER_WAY[pending.action]}{pending.phase && ` (${pending.phase})`}
          </span>
        )}
        <button type="button" disabled={busy || running} onClick={() => run('start')}>Start</button>
        <button type="button" disabled={busy || !running} onClick={() => run('stop')}>Stop</button>
        <button type="button" disabled={busy || !running} onClick={() => run('restart')}>Restart</button>
        <button type="button" disabled={busy || !running} onClick={() => onOpenTerminal(name)}>Terminal</button>
        <button type="button" disabled={busy || !running || checkpointing} onClick={() => setCheckpointing(true)}>Checkpoint</button>
        <button type="button" aria-haspopup="menu" aria-expanded={moving} disabled={busy || !running || moving} onClick={() => setMoving(true)}>Move to…</button>
        <button type="button" className="danger" disabled={busy || confirming} onClick={() => setConfirming(true)}>Destroy</button>
      </div>
      {confirming && (
        <div className="confirm" role="alertdialog" aria-label={`Destroy ${name}?`}>
          <span>
            Destroy <b>{name}</b> and its files?{running && ' It is running: it will be killed first.'}
          </span>
          <button type="button" className="danger" onClick={() => { setConfirming(false); run('destroy'); }}>Yes, destroy</button>
          <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
        </div>
      )}
      {checkpointing && (
        <div className="confirm neutral" role="dialog" aria-label={`Checkpoint ${name}`}>
          <span>Checkpoint <b>{name}</b> into an image on {node.name}.</span>
          <label><input type="checkbox" checked={leaveRunning} onChange={(e) => setLeaveRunning(e.target.checked)} /> leave it running</label>
          <button type="button" className="primary" disabled={busy || !running} onClick={checkpoint}>Checkpoint now</button>
          <button type="button" onClick={() => setCheckpointing(false)}>Cancel</button>
        </div>
      )}
      {moving && (
        <MoveToMenu session={session} node={node.name} name={name} targets={session.cluster.migrationTargets(node.name)}
          onClose={() => setMoving(false)} />
      )}
      {result && (
        <CrReportView result={result} busy={pending !== undefined} onDownload={() => void download()}
          onDismiss={() => session.ops.dismissResult(node, name)} />
      )}
      {error && errorLine && (
        <div className={errorLine.failed ? 'row-error' : 'row-error notice'} role={errorLine.failed ? 'alert' : 'status'}
          title={error.code ? `agent error code: ${error.code}` : undefined}>
          <span><b>{errorLine.heading}</b> {error.message}</span>
          <button type="button" className="icon" aria-label="Dismiss the error" onClick={() => session.ops.dismissError(node.name, name)}>×</button>
        </div>
      )}
      {figures ? <ContainerGraphs figures={figures} /> : running && <p className="muted graphs-wait">waiting for the first stats…</p>}
    </div>
  );
}

/** The figures of a container's last checkpoint or restore, and its image for download. */
function CrReportView({ result, busy, onDownload, onDismiss }: {
  result: CrResult;
  busy: boolean;
  onDownload: () => void;
  onDismiss: () => void;
}) {
  const { action, report } = result;
  return (
    <div className="cr-report" role="status" data-testid="cr-report" data-action={action} data-image={report.image}>
      <span>
        <b>{action === 'checkpoint' ? 'Checkpointed' : 'Restored'}:</b>{' '}
        <span data-testid="cr-processes">{report.processes} process{report.processes === 1 ? '' : 'es'}</span>,{' '}
        {formatBytes(report.pages * 4096)} of memory, {formatBytes(report.fs_bytes)} of files, image{' '}
        <span data-testid="cr-image-size">{formatBytes(report.image_bytes)}</span>
        {action === 'checkpoint' && <>, frozen <span data-testid="cr-frozen">{report.frozen_ms} ms</span></>}, total {report.total_ms} ms
      </span>
      {action === 'checkpoint' && <button type="button" disabled={busy} onClick={onDownload}>Download image</button>}
      <button type="button" className="icon" aria-label="Dismiss the report"
        title={action === 'checkpoint' ? 'Dismiss (deletes the image from the host)' : 'Dismiss'} onClick={onDismiss}>×</button>
    </div>
  );
}
