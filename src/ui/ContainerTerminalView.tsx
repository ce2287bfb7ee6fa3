import { useCallback, useEffect, useRef, useState } from 'react';
import type { Terminal } from '@xterm/xterm';
import type { AgentClient, TerminalSession } from '../common/agent/AgentClient';
import type { Disposable } from '../common/util/Emitter';
import { errorMessage } from './containerOps';
import { XtermPane } from './XtermPane';

type Status = { kind: 'opening' } | { kind: 'open'; session: number } | { kind: 'exited'; code: number } | { kind: 'failed'; message: string };

/**
 * A shell in a container (AgentClient.openTerminal), in a closable panel. It scrolls into view when
 * it opens and whenever `reveal` changes (its Terminal button clicked again): a panel opened below
 * the fold would show nothing, as xterm.js draws only while the terminal is on screen.
 */
export function ContainerTerminalView({ agent, host, name, reveal, onClose }: {
  agent: AgentClient;
  host: string;
  name: string;
  reveal: number;
  onClose: () => void;
}) {
  const [status, setStatus] = useState<Status>({ kind: 'opening' });
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    panel.current?.scrollIntoView({ block: 'nearest' });
  }, [reveal]);
  // Bumped by "Reopen": a new terminal and a new shell.
  const [generation, setGeneration] = useState(0);
  const connect = useCallback((terminal: Terminal) => {
    let session: TerminalSession | undefined;
    let closed = false;
    const subscriptions: Disposable[] = [];
    setStatus({ kind: 'opening' });
    agent.openTerminal(name, { cols: terminal.cols, rows: terminal.rows }).then(
      (opened) => {
        if (closed) {
          void opened.close();
          return;
        }
        session = opened;
        setStatus({ kind: 'open', session: opened.session });
        subscriptions.push(
          opened.onData((bytes) => terminal.write(bytes)),
          terminal.onData((data) => opened.write(data)),
          terminal.onResize(({ cols, rows }) => opened.resize(cols, rows)),
          opened.onExit((code) => {
            terminal.write(`\r\n\x1b[2m[the shell exited with status ${code}]\x1b[0m\r\n`);
            setStatus({ kind: 'exited', code });
          }),
        );
      },
      (err: unknown) => {
        if (closed) return;
        terminal.write(`\x1b[31m${errorMessage(err)}\x1b[0m\r\n`);
        setStatus({ kind: 'failed', message: errorMessage(err) });
      },
    );
    return () => {
      closed = true;
      for (const subscription of subscriptions) subscription.dispose();
      void session?.close();
    };
  }, [agent, name]);

  const label = status.kind === 'opening' ? 'opening…'
    : status.kind === 'open' ? 'shell'
    : status.kind === 'exited' ? `exited (${status.code})`
    : 'failed';
  return (
    <div className="term-panel" ref={panel} data-testid="container-terminal" data-host={host} data-container={name} data-status={status.kind}>
      <div className="term-head">
        <span className="term-title">{name}</span>
        <span className="muted">on {host} · {label}</span>
        {(status.kind === 'exited' || status.kind === 'failed') && (
          <button type="button" className="reopen" onClick={() => setGeneration((g) => g + 1)}>Reopen</button>
        )}
        <button type="button" className="icon close" aria-label={`Close the terminal of ${name}`} onClick={onClose}>×</button>
      </div>
      <XtermPane key={generation} connect={connect} testId="container-xterm" autoFocus />
    </div>
  );
}
