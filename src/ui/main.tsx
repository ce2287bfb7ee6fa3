// The entry: start the hosts first, then load and render the panel. The panel (React, xterm.js) is
// most of the page's script: in its own chunk it downloads and parses while the workers start.
import { browserSession } from './browserSession';
import { warmUpFonts } from './fontWarmup';

// Before the hosts' workers start: see fontWarmup.ts.
warmUpFonts();
const session = browserSession();
void import('./renderPanel').then(({ renderPanel }) => renderPanel(session));
