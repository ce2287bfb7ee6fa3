import { describe, expect, it } from 'vitest';
import { ConsoleWatcher } from './ConsoleWatcher';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('ConsoleWatcher', () => {
  it('matches a pattern split across chunks and across a UTF-8 sequence', async () => {
    const watcher = new ConsoleWatcher();
    const match = watcher.waitFor(/héllo (\d+)/);
    const all = bytes('xx héllo 42\n');
    watcher.push(all.subarray(0, 4)); // ends inside the two-byte "é"
    watcher.push(all.subarray(4));
    expect((await match)[1]).toBe('42');
  });

  it('waitFor ignores output that came before it; waitForSeen does not', async () => {
    const watcher = new ConsoleWatcher();
    watcher.push(bytes('ready\n'));
    expect((await watcher.waitForSeen(/ready/))[0]).toBe('ready');
    let resolved = false;
    void watcher.waitFor(/ready/).then(() => { resolved = true; });
    await Promise.resolve();
    expect(resolved).toBe(false);
    watcher.push(bytes('ready again'));
    await Promise.resolve();
    expect(resolved).toBe(true);
  });

  it('keeps only a bounded tail', async () => {
    const watcher = new ConsoleWatcher(16);
    const match = watcher.waitFor(/start.*end/s);
    watcher.push(bytes('start' + 'x'.repeat(32)));
    watcher.push(bytes('end'));
    const raced = await Promise.race([match.then(() => 'matched'), new Promise((r) => setTimeout(() => r('no match'), 20))]);
    expect(raced).toBe('no match');
  });
});
