import { useState } from 'react';
import type { ClusterNode } from '../common/cluster/Cluster';
import type { ClusterHost } from '../common/network/types';
import { BootProgressBar } from './BootProgressBar';
import { ContainerList } from './ContainerList';
import { ContainerTerminalView } from './ContainerTerminalView';
import { MigrationView, useHostDrop } from './MigrationView';
import { CreateContainerDialog } from './CreateContainerDialog';
import { RestoreFromFile } from './RestoreFromFile';
import type { PanelSession } from './session';
import { TerminalView } from './TerminalView';

/** A host of this tab: its state and identity, its console, its containers and their terminals. */
export function HostCard({ session, node, consoleOpen: initiallyOpen }: { session: PanelSession; node: ClusterNode; consoleOpen: boolean }) {
  const [consoleOpen, setConsoleOpen] = useState(initiallyOpen);
  // Open terminals, each with how many times its Terminal button was clicked (it scrolls into view).
  const [terminals, setTerminals] = useState<{ name: string; reveal: number }[]>([]);
  const [dialog, setDialog] = useState(false);
  const { state } = node;
  const running = state === 'running';
  // Container actions wait for host_configure too, not only for the boot.
  const ready = node.ready;
  const hostError = session.ops.hostErrorOf(node.name);
  // A terminal outlives its container only until the container is gone from the list.
  const open = terminals.filter((t) => node.containers.some((c) => c.name === t.name));
  const openTerminal = (name: string) => setTerminals((list) => (list.some((t) => t.name === name)
    ? list.map((t) => (t.name === name ? { name, reveal: t.reveal + 1 } : t))
    : [...list, { name, reveal: 0 }]));
  const closeTerminal = (name: string) => setTerminals((list) => list.filter((t) => t.name !== name));
  const drop = useHostDrop(session, node.name);
  const migrations = session.ops.migrationsFrom(node.name);

  return (
    <section className="host card" data-testid="host" data-host={node.name} data-state={state}
      data-ready={ready ? '' : undefined} aria-label={`host ${node.name}`} {...drop.props}>
      <div className="host-title">
        <h2>{node.name}</h2>
        <span className={`state state-${state}`}>{state}</span>
        {running && !ready && !node.error && <span className="muted" role="status"><span className="spinner" /> configuring…</span>}
        {node.boot && (
          <span className="figure" data-testid="boot-time">
            {node.boot.fromState
              ? <>restored from saved state in {(node.boot.bootMs / 1000).toFixed(2)} s</>
              : <>booted in {(node.boot.bootMs / 1000).toFixed(2)} s (guest kernel+init {node.boot.guestUptimeS.toFixed(2)} s)</>}
          </span>
        )}
      </div>
      <Identity host={node.identity} />
      {node.error && <div className="error" role="alert">{node.error}</div>}
      {state === 'booting' && <BootProgressBar progress={node.progress} />}

      {(running || state === 'stopped' || state === 'failed') && (
        <div className="panel">
          <button type="button" className="panel-toggle" aria-expanded={consoleOpen} onClick={() => setConsoleOpen(!consoleOpen)}>
            {consoleOpen ? '▾' : '▸'} console <span className="muted">(ttyS0, root shell on the host)</span>
          </button>
          {consoleOpen && <TerminalView log={session.consoleOf(node)} autoFocus={initiallyOpen} />}
        </div>
      )}

      <div className="containers">
        <div className="section-head">
          <h3>Containers <span className="muted">({node.containers.filter((c) => !session.ops.isHidden(node.name, c.name)).length})</span></h3>
          <RestoreFromFile session={session} node={node} />
          <button type="button" className="primary" disabled={!ready} onClick={() => setDialog(true)}>New container</button>
        </div>
        {hostError && (
          <div className="row-error" role="alert" data-testid="host-error" title={hostError.code ? `agent error code: ${hostError.code}` : undefined}>
            <span><b>{hostError.action} failed:</b> {hostError.message}</span>
            <button type="button" className="icon" aria-label="Dismiss the error" onClick={() => session.ops.dismissHostError(node.name)}>×</button>
          </div>
        )}
        {migrations.map((m) => <MigrationView key={m.name} session={session} migration={m} />)}
        <ContainerList session={session} node={node} onOpenTerminal={openTerminal} />
      </div>

      {open.map(({ name, reveal }) => (
        <ContainerTerminalView key={name} agent={node.agent} host={node.name} name={name} reveal={reveal}
          onClose={() => closeTerminal(name)} />
      ))}

      {dialog && <CreateContainerDialog session={session} nodeName={node.name} onClose={() => setDialog(false)} />}
    </section>
  );
}

/** A host's identity on the backplane. */
export function Identity({ host }: { host: ClusterHost }) {
  return (
    <dl className="identity">
      <dt>address</dt><dd data-testid="host-address">{host.address}</dd>
      <dt>MAC</dt><dd>{host.mac}</dd>
    </dl>
  );
}

/** A host that another tab runs: seen, not driven from here. */
export function RemoteHostCard({ session, host }: { session: PanelSession; host: ClusterHost }) {
  const drop = useHostDrop(session, host.name);
  return (
    <section className="host card remote" data-testid="remote-host" data-host={host.name} aria-label={`host ${host.name} in another tab`}
      {...drop.props}>
      <div className="host-title">
        <h2>{host.name}</h2>
        <span className="state state-remote">in another tab</span>
      </div>
      <Identity host={host} />
      <div className="muted small">tab {host.tab.slice(0, 8)} · drop a running container here to move it</div>
    </section>
  );
}
