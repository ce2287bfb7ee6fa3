import { useSyncExternalStore } from 'react';
import { HostCard, RemoteHostCard } from './HostCard';
import { NetworkView } from './NetworkView';
import type { PanelSession } from './session';
import { StatusBar } from './StatusBar';

/** The control panel: this tab's hosts, the other tabs' hosts, and the network between them. */
export function App({ session }: { session: PanelSession }) {
  // The cluster changes in place; this number moves whenever it (or an action) did.
  useSyncExternalStore(session.subscribe, session.snapshot);
  const { nodes, remoteHosts } = session.cluster;
  const local = nodes.map((n) => n.name).join(', ');
  const remote = remoteHosts.map((h) => h.name).join(', ');
  return (
    <main>
      <header>
        <h1>ctlab</h1>
        <p>
          Linux containers in a web page: real i386 Linux hosts in your browser, joined by a virtual switch.{' '}
          <span className="muted" data-testid="cluster-summary">
            This tab: {local || '…'}{remote && ` · other tabs: ${remote}`}
          </span>
        </p>
      </header>
      <StatusBar session={session} />
      {session.startError && <div className="error" role="alert">Could not add hosts to the cluster: {session.startError}</div>}
      <div className="hosts">
        {nodes.length === 0 && !session.startError && <div className="card muted joining">Joining the cluster…</div>}
        {nodes.map((node, i) => (
          <HostCard key={node.name} session={session} node={node} consoleOpen={i === 0} />
        ))}
      </div>
      <section className="remote-hosts" aria-label="hosts in other tabs">
        <h2 className="section-title">Hosts in other tabs</h2>
        {remoteHosts.length === 0
          ? <p className="muted">None yet: open this page in another tab and its hosts join this cluster.</p>
          : <div className="remote-list">{remoteHosts.map((host) => <RemoteHostCard key={host.name} session={session} host={host} />)}</div>}
      </section>
      <NetworkView session={session} />
    </main>
  );
}
