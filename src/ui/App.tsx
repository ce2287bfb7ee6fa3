import { BootProgressBar } from './BootProgressBar';
import { TerminalView } from './TerminalView';
import { useHost } from './useHost';

export function App() {
  const { host, state, progress, result, error } = useHost('ctlab');
  return (
    <main>
      <header>
        <h1>ctlab</h1>
        <p>Linux containers in a web page: a real i386 Linux host running in your browser.</p>
      </header>
      <section className="host" data-testid="host" data-state={state}>
        <div className="host-title">
          <h2>host ctlab</h2>
          <span className={`state state-${state}`}>{state}</span>
          {result && (
            <span className="figure" data-testid="boot-time">
              booted in {(result.bootMs / 1000).toFixed(2)} s (guest kernel+init {result.guestUptimeS.toFixed(2)} s)
            </span>
          )}
        </div>
        {error && <div className="error" role="alert">{error}</div>}
        {state === 'booting' && <BootProgressBar progress={progress} />}
        {host && (state === 'running' || state === 'booting') && (
          <div hidden={state !== 'running'}><TerminalView host={host} /></div>
        )}
      </section>
    </main>
  );
}
