// Font look-ups before the hosts start. On Linux, Chromium's renderer resolves each font family and
// style it meets for the first time with a synchronous call to the browser process. Once the
// emulators keep every core busy, that call waits 70–200 ms for the browser process to be scheduled,
// and the layout that triggered it (xterm.js measuring its cells when a terminal opens, a dialog
// appearing) becomes a long task on the UI thread with next to no CPU time of its own (traced:
// Layout 212 ms wall, 2.5 ms CPU, blocked on a mojo reply). Meeting the page's fonts once at
// startup, while the cores are still free, makes those look-ups cheap later.

/** The terminals' font (xterm.js): the same string here and in XtermPane, so the same look-ups. */
export const TERMINAL_FONT = 'ui-monospace, "DejaVu Sans Mono", monospace';
/** The page's text (app.css :root). */
const UI_FONT = 'system-ui, sans-serif';
/** Letters, digits and the few symbols the panel draws, so fallback fonts are found now too. */
const SAMPLE = 'Wg0@#$~|_ root@node1:~# ▾▸×…→–·✓';

export function warmUpFonts(doc: Document = document): void {
  const box = doc.createElement('div');
  box.setAttribute('aria-hidden', 'true');
  box.style.cssText = 'position:absolute;left:-10000px;top:0;visibility:hidden;white-space:pre;contain:strict;width:1px;height:1px';
  const variants: [string, string][] = [['400', 'normal'], ['600', 'normal'], ['700', 'normal'], ['400', 'italic'], ['700', 'italic']];
  for (const family of [TERMINAL_FONT, UI_FONT]) {
    for (const [weight, style] of variants) {
      const span = doc.createElement('span');
      span.style.cssText = `font-family:${family};font-weight:${weight};font-style:${style};font-size:13px`;
      span.textContent = SAMPLE;
      box.append(span);
    }
  }
  doc.body.append(box);
  void box.offsetWidth; // lay it out now: this is what resolves the fonts
  box.remove();
  // xterm.js measures its cell size on an OffscreenCanvas: resolve the font on that path as well.
  try {
    const context = new OffscreenCanvas(8, 8).getContext('2d');
    for (const [weight, style] of variants) {
      if (!context) break;
      context.font = `${style} ${weight} 13px ${TERMINAL_FONT}`;
      context.measureText(SAMPLE);
    }
  } catch {
    // No OffscreenCanvas: xterm.js falls back to measuring in the DOM, warmed above.
  }
}
