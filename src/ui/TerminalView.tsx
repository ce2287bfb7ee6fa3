import { useCallback } from 'react';
import type { Terminal } from '@xterm/xterm';
import type { ConsoleLog } from './consoleLog';
import { XtermPane } from './XtermPane';

/** A host's serial console: its whole output so far, then live; keystrokes go to the host. */
export function TerminalView({ log, autoFocus = false }: { log: ConsoleLog; autoFocus?: boolean }) {
  const connect = useCallback((terminal: Terminal) => {
    const output = log.onData((bytes) => terminal.write(bytes));
    const input = terminal.onData((data) => log.write(data));
    return () => {
      input.dispose();
      output.dispose();
    };
  }, [log]);
  return <XtermPane connect={connect} testId="host-terminal" autoFocus={autoFocus} />;
}
