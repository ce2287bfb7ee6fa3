import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { Host } from '../common/host/Host';

/** An xterm.js terminal wired to a host's console: guest output in, keystrokes out. */
export function TerminalView({ host }: { host: Host }) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const terminal = new Terminal({
      convertEol: false,
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
      fontSize: 14,
      theme: { background: '#0d1117' },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(element.current!);
    fit.fit();
    const output = host.onConsoleOutput((bytes) => terminal.write(bytes));
    const input = terminal.onData((data) => host.writeConsole(data));
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(element.current!);
    terminal.focus();
    return () => {
      resize.disconnect();
      input.dispose();
      output.dispose();
      terminal.dispose();
    };
  }, [host]);
  return <div className="terminal" ref={element} data-testid="host-terminal" />;
}
