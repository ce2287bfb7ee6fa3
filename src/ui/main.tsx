import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xterm/xterm/css/xterm.css';
import './app.css';
import { App } from './App';
import { browserSession } from './browserSession';
import { warmUpFonts } from './fontWarmup';

// Before the hosts' workers start: see fontWarmup.ts.
warmUpFonts();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App session={browserSession()} />
  </StrictMode>,
);
