// The page's one cluster: created once per page load, whatever React does with effects (StrictMode
// mounts twice in development), and disposed when the page goes away.
import { createBrowserCluster } from '../browser/browserCluster';
import { PanelSession } from './session';

/** Hosts each tab boots; a second tab of the page gets the next node numbers. */
export const HOSTS_PER_TAB = 2;

let session: PanelSession | undefined;

export function browserSession(): PanelSession {
  if (session) return session;
  const created = new PanelSession(createBrowserCluster(new URL('images/', document.baseURI).href, HOSTS_PER_TAB));
  session = created;
  void created.start(HOSTS_PER_TAB);
  window.addEventListener('pagehide', () => created.dispose(), { once: true });
  // Back from the back/forward cache the hosts are gone: start over.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload();
  });
  return created;
}
