import { useEffect, useState } from 'react';
import { WorkerHost } from '../browser/WorkerHost';
import type { BootProgress, BootResult, Host, HostState } from '../common/host/Host';

export interface HostView {
  host: Host | undefined;
  state: HostState;
  progress: BootProgress | undefined;
  result: BootResult | undefined;
  error: string | undefined;
}

/** Creates a host in its own worker, boots it, and tears it down with the component. */
export function useHost(name: string): HostView {
  const [view, setView] = useState<HostView>({
    host: undefined, state: 'created', progress: undefined, result: undefined, error: undefined,
  });
  useEffect(() => {
    // Absolute, because the worker resolves URLs against its own script's location.
    const host = new WorkerHost(name, new URL('images/', document.baseURI).href);
    const update = (patch: Partial<HostView>) => setView((v) => ({ ...v, ...patch }));
    update({ host });
    host.onStateChange((state) => update({ state }));
    host.onProgress((progress) => update({ progress }));
    host.boot().then((result) => update({ result }), (err: Error) => update({ error: err.message }));
    return () => host.dispose();
  }, [name]);
  return view;
}
