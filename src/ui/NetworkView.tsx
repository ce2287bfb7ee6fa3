import { useCallback, useEffect, useState } from 'react';
import type { LinkFault, PortInfo } from '../common/network/types';
import { errorMessage } from './containerOps';
import type { PanelSession } from './session';
import { formatBytes } from './stats';

const POLL_MS = 1000;

/** This tab's switch: a port per host plus the link to the other tabs, with counters and faults. */
export function NetworkView({ session }: { session: PanelSession }) {
  const { network } = session.cluster;
  const [open, setOpen] = useState(true);
  const [ports, setPorts] = useState<PortInfo[]>([]);
  const [malformed, setMalformed] = useState<number>();
  const [error, setError] = useState<string>();

  const poll = useCallback(async () => {
    try {
      const [p, m] = await Promise.all([network.ports(), network.malformedCount()]);
      setPorts(p);
      setMalformed(m);
      setError(undefined);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [network]);

  useEffect(() => {
    if (!open) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Polls every second while the view is open and the page is visible.
    const tick = async () => {
      if (document.visibilityState === 'visible') await poll();
      if (!stopped) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    const onVisible = () => {
      if (document.visibilityState === 'visible') void poll();
    };
    document.addEventListener('visibilitychange', onVisible);
    const changed = network.onChange(() => void poll());
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
      changed.dispose();
    };
  }, [open, network, poll]);

  // Learned MACs are named after the hosts they belong to, where known.
  const hostOfMac = new Map<string, string>();
  for (const node of session.cluster.nodes) hostOfMac.set(node.identity.mac, node.name);
  for (const host of session.cluster.remoteHosts) hostOfMac.set(host.mac, host.name);

  const setFault = (port: PortInfo, fault: Partial<LinkFault>) => {
    network.setFault(port.id, fault).then(poll, (err: unknown) => setError(errorMessage(err)));
  };

  return (
    <section className="network card" data-testid="network" aria-label="network">
      <div className="section-head">
        <button type="button" className="panel-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
          <h2>{open ? '▾' : '▸'} Network</h2>
        </button>
        <span className="muted">
          the switch of this tab · 10.0.0.0/16 backplane ·{' '}
          <span data-testid="malformed">{malformed ?? '…'} malformed messages from other tabs dropped</span>
        </span>
      </div>
      {open && error && <div className="error" role="alert">{error}</div>}
      {open && (
        <table className="ports">
          <thead>
            <tr>
              <th>port</th>
              <th className="num">rx frames</th><th className="num">rx bytes</th>
              <th className="num">tx frames</th><th className="num">tx bytes</th>
              <th className="num">dropped</th>
              <th>learned MACs</th>
              <th>link down</th><th>loss %</th><th>latency ms</th>
            </tr>
          </thead>
          <tbody>
            {ports.map((port) => (
              <tr key={port.id} data-testid="port" data-port={port.name}>
                <td>
                  <b>{port.kind === 'tabs' ? 'other tabs' : port.name}</b>
                  {port.fault.down && <span className="tag alarm">down</span>}
                </td>
                <td className="num">{port.counters.rxFrames}</td>
                <td className="num">{formatBytes(port.counters.rxBytes)}</td>
                <td className="num">{port.counters.txFrames}</td>
                <td className="num">{formatBytes(port.counters.txBytes)}</td>
                <td className={`num${port.counters.dropped > 0 ? ' warn' : ''}`}>{port.counters.dropped}</td>
                <td className="macs">
                  {port.macs.length === 0 ? <span className="muted">none</span> : port.macs.map((mac) => (
                    <span key={mac} className="mac" title={mac}>{hostOfMac.get(mac) ? `${mac} (${hostOfMac.get(mac)})` : mac}</span>
                  ))}
                </td>
                <FaultControls port={port} onChange={(fault) => setFault(port, fault)} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/**
 * A port's fault inputs. What the user set shows at once; the polled value takes over again once
 * the switch reports what was set (a poll from before the change must not undo it on screen).
 */
function FaultControls({ port, onChange }: { port: PortInfo; onChange: (fault: Partial<LinkFault>) => void }) {
  const [draft, setDraft] = useState<Partial<LinkFault>>({});
  const shown: LinkFault = { ...port.fault, ...draft };
  useEffect(() => {
    setDraft((d) => {
      const left = Object.fromEntries(Object.entries(d).filter(([k, v]) => port.fault[k as keyof LinkFault] !== v));
      return Object.keys(left).length === Object.keys(d).length ? d : left;
    });
  }, [port.fault]);
  const change = (fault: Partial<LinkFault>) => {
    setDraft((d) => ({ ...d, ...fault }));
    onChange(fault);
  };
  const number = (text: string, max: number) => Math.min(max, Math.max(0, Number(text) || 0));
  const label = port.kind === 'tabs' ? 'other tabs' : port.name;
  return (
    <>
      <td>
        <input type="checkbox" aria-label={`link down on ${label}`} checked={shown.down} onChange={(e) => change({ down: e.target.checked })} />
      </td>
      <td className="fault-loss">
        <input type="range" min={0} max={100} step={1} aria-label={`loss % on ${label}`} value={shown.lossPercent}
          onChange={(e) => change({ lossPercent: number(e.target.value, 100) })} />
        <input type="number" min={0} max={100} step={1} className="small-num" aria-label={`loss % on ${label} (number)`} value={shown.lossPercent}
          onChange={(e) => change({ lossPercent: number(e.target.value, 100) })} />
      </td>
      <td>
        <input type="number" min={0} max={10000} step={10} className="small-num" aria-label={`latency ms on ${label}`} value={shown.latencyMs}
          onChange={(e) => change({ latencyMs: number(e.target.value, 10000) })} />
      </td>
    </>
  );
}
