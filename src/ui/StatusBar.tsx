import { useEffect, useState } from 'react';
import type { ClusterNode } from '../common/cluster/Cluster';
import type { PanelSession } from './session';
import { mipsText, pageReadyText, startNote, startText } from './statusFigures';

/** Often enough to watch the speed change, rarely enough to cost nothing (one message per host). */
const MIPS_INTERVAL_MS = 1000;

/** The page's own figures: how each host started and how fast its emulator runs. */
export function StatusBar({ session }: { session: PanelSession }) {
  const { nodes } = session.cluster;
  const mips = useHostMips(session);
  const readyMs = usePageReadyMs(nodes);
  if (nodes.length === 0) return null;
  return (
    // Not a live region: a screen reader would read the MIPS out every second.
    <div className="status-bar" data-testid="status-bar">
      {nodes.map((node) => <HostFigures key={node.name} node={node} mips={mips.get(node.name)} />)}
      {readyMs !== undefined && <span className="muted" data-testid="status-page-ready">{pageReadyText(readyMs, nodes.length)}</span>}
    </div>
  );
}

function HostFigures({ node, mips }: { node: ClusterNode; mips: number | undefined }) {
  const speed = node.state === 'running' ? mipsText(mips) : undefined;
  return (
    <span className="status-host" data-testid="status-host" data-host={node.name}>
      <b>{node.name}</b>{' '}
      {node.boot
        ? <span data-testid="status-start" title={startNote(node.boot)}>{startText(node.boot)}</span>
        : <span className="muted">{node.state === 'failed' ? 'failed to start' : 'starting…'}</span>}
      {speed && <> · <span data-testid="status-mips">{speed}</span></>}
    </span>
  );
}

/** Each running host's MIPS, sampled every MIPS_INTERVAL_MS (Host.stats() measures since its last call). */
function useHostMips(session: PanelSession): ReadonlyMap<string, number> {
  const [mips, setMips] = useState<ReadonlyMap<string, number>>(() => new Map());
  useEffect(() => {
    let stopped = false;
    const sample = async () => {
      const running = session.cluster.nodes.filter((node) => node.state === 'running');
      const figures = await Promise.all(running.map(async (node) => {
        const stats = await node.host.stats().catch(() => undefined); // stopping: no figure
        return [node.name, stats?.mips] as const;
      }));
      if (stopped) return;
      setMips(new Map(figures.filter((f): f is readonly [string, number] => f[1] !== undefined)));
    };
    void sample();
    const timer = setInterval(() => void sample(), MIPS_INTERVAL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [session]);
  return mips;
}

/** Milliseconds from navigation to every host of the tab ready, fixed the first time they all are. */
function usePageReadyMs(nodes: readonly ClusterNode[]): number | undefined {
  const [readyMs, setReadyMs] = useState<number>();
  const allReady = nodes.length > 0 && nodes.every((node) => node.ready);
  useEffect(() => {
    if (allReady && readyMs === undefined) setReadyMs(performance.now());
  }, [allReady, readyMs]);
  return readyMs;
}
