import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { TERMINAL_FONT } from './fontWarmup';

/** Wires a fresh terminal to its source; returns the teardown. Keep it stable (useCallback). */
export type ConnectTerminal = (terminal: Terminal) => () => void;

interface Props {
  connect: ConnectTerminal;
  testId: string;
  /** Focus the terminal when it opens. */
  autoFocus?: boolean;
}

/**
 * An xterm.js terminal that fills its box and follows its size: the box is resizable by the user
 * (CSS resize) and by the layout, and the terminal refits to it.
 */
export function XtermPane({ connect, testId, autoFocus = false }: Props) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const box = element.current!;
    const terminal = new Terminal({
      convertEol: false,
      cursorBlink: true,
      fontFamily: TERMINAL_FONT,
      fontSize: 13,
      scrollback: 5000,
      theme: { background: '#0d1117' },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(box);
    // A box without a size (collapsed, not laid out yet) has nothing to fit to.
    const refit = () => {
      if (box.clientWidth > 0 && box.clientHeight > 0) fit.fit();
    };
    refit();
    const disconnect = connect(terminal);
    const resize = new ResizeObserver(refit);
    resize.observe(box);
    if (autoFocus) terminal.focus();
    return () => {
      resize.disconnect();
      disconnect();
      terminal.dispose();
    };
  }, [connect, autoFocus]);
  return <div className="term-box" ref={element} data-testid={testId} />;
}
