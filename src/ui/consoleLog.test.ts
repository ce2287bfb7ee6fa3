import { describe, expect, it } from 'vitest';
import { Emitter } from '../common/util/Emitter';
import { ConsoleLog } from './consoleLog';

function fakeHost() {
  const output = new Emitter<Uint8Array>();
  const typed: (string | Uint8Array)[] = [];
  return { output, typed, host: { onConsoleOutput: output.event, writeConsole: (data: string | Uint8Array) => void typed.push(data) } };
}

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(chunks));

describe('console log', () => {
  it('replays what came before a listener, then follows live', () => {
    const { output, host } = fakeHost();
    const log = new ConsoleLog(host);
    output.fire(new TextEncoder().encode('boot '));
    const seen: Uint8Array[] = [];
    log.onData((chunk) => seen.push(chunk));
    output.fire(new TextEncoder().encode('prompt# '));
    expect(text(seen)).toBe('boot prompt# ');
    // A second terminal (reopened) gets the whole session too.
    const again: Uint8Array[] = [];
    log.onData((chunk) => again.push(chunk));
    expect(text(again)).toBe('boot prompt# ');
  });

  it('keeps its own copy of each chunk', () => {
    const { output, host } = fakeHost();
    const log = new ConsoleLog(host);
    const buffer = new TextEncoder().encode('abc');
    output.fire(buffer);
    buffer.fill(0x21);
    const seen: Uint8Array[] = [];
    log.onData((chunk) => seen.push(chunk));
    expect(text(seen)).toBe('abc');
  });

  it('drops the oldest output beyond its limit', () => {
    const { output, host } = fakeHost();
    const log = new ConsoleLog(host, 10);
    for (const piece of ['aaaa', 'bbbb', 'cccc']) output.fire(new TextEncoder().encode(piece));
    const seen: Uint8Array[] = [];
    log.onData((chunk) => seen.push(chunk));
    expect(text(seen)).toBe('bbbbcccc');
  });

  it('types into the host, and stops listening when disposed', () => {
    const { output, typed, host } = fakeHost();
    const log = new ConsoleLog(host);
    log.write('ls\n');
    expect(typed).toEqual(['ls\n']);
    const seen: Uint8Array[] = [];
    log.onData((chunk) => seen.push(chunk));
    log.dispose();
    output.fire(new Uint8Array([0x41]));
    expect(seen).toEqual([]);
  });
});
