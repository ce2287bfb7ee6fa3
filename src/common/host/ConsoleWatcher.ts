/**
 * Keeps the recent tail of a console's text and answers whether a pattern has appeared in it,
 * so boot and test code can wait for banners and prompts without rescanning the whole output.
 */
export class ConsoleWatcher {
  private decoder = new TextDecoder();
  private tail = '';
  private waiters: { pattern: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];

  constructor(private readonly tailChars = 8192) {}

  push(bytes: Uint8Array): void {
    this.tail += this.decoder.decode(bytes, { stream: true });
    if (this.tail.length > this.tailChars) this.tail = this.tail.slice(-this.tailChars);
    this.waiters = this.waiters.filter((w) => {
      const match = w.pattern.exec(this.tail);
      if (match) w.resolve(match);
      return !match;
    });
  }

  /** Resolves with the first match of `pattern` in output that arrives from now on. */
  waitFor(pattern: RegExp): Promise<RegExpExecArray> {
    this.tail = '';
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }

  /** Resolves when `pattern` matches the output seen since the last waitFor (or now). */
  waitForSeen(pattern: RegExp): Promise<RegExpExecArray> {
    const match = pattern.exec(this.tail);
    if (match) return Promise.resolve(match);
    return new Promise((resolve) => this.waiters.push({ pattern, resolve }));
  }
}
