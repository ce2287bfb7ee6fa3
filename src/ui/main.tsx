import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '@xterm/xterm/css/xterm.css';
import './app.css';
import { App } from './App';
import { browserSession } from './browserSession';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App session={browserSession()} />
  </StrictMode>,
);
