// A host console's output, kept from the host's first byte, so a terminal opened (or reopened)
// later shows the whole session rather than what came after it. No DOM (consoleLog.test.ts).
import type { Host } from '../common/host/Host';
import { Emitter, type Disposable, type Event } from '../common/util/Emitter';

/** Output kept for replay; the oldest chunks go first beyond this. */
export const CONSOLE_LOG_BYTES = 1 << 20;

export class ConsoleLog implements Disposable {
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private readonly dataEmitter = new Emitter<Uint8Array>();
  private readonly subscription: Disposable;

  constructor(private readonly host: Pick<Host, 'onConsoleOutput' | 'writeConsole'>, private readonly limit = CONSOLE_LOG_BYTES) {
    this.subscription = host.onConsoleOutput((chunk) => {
      // Copied: the producer may reuse its buffer.
      const copy = chunk.slice();
      this.chunks.push(copy);
      this.bytes += copy.length;
      while (this.bytes > this.limit && this.chunks.length > 1) this.bytes -= this.chunks.shift()!.length;
      this.dataEmitter.fire(copy);
    });
  }

  /** Replays what was kept to the new listener at once, then every new chunk. */
  readonly onData: Event<Uint8Array> = (listener) => {
    for (const chunk of this.chunks) listener(chunk);
    return this.dataEmitter.event(listener);
  };

  /** Types into the host's console. */
  write(data: string | Uint8Array): void {
    this.host.writeConsole(data);
  }

  dispose(): void {
    this.subscription.dispose();
    this.dataEmitter.dispose();
    this.chunks = [];
    this.bytes = 0;
  }
}
