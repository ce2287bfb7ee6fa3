import type { Disposable } from '../util/Emitter';
import { ConsoleWatcher } from './ConsoleWatcher';
import type { Host } from './Host';

export interface ShellResult {
  output: string;
  exitCode: number;
}

/**
 * Runs commands on a host's console shell and captures their output and exit status, as a user
 * typing would. Each command (one line of shell) is framed by markers the shell prints; the markers
 * are written split ("@@""END") so the terminal's echo of the typed line can never match them.
 */
export class ConsoleShell implements Disposable {
  private readonly watcher = new ConsoleWatcher(256 * 1024);
  private readonly subscription: Disposable;
  private queue: Promise<unknown> = Promise.resolve();
  private nextId = 1;

  constructor(private readonly host: Host) {
    this.subscription = host.onConsoleOutput((bytes) => this.watcher.push(bytes));
  }

  run(command: string, timeoutMs = 30_000): Promise<ShellResult> {
    const result = this.queue.then(() => this.runNow(command, timeoutMs));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(command: string, timeoutMs: number): Promise<ShellResult> {
    const id = this.nextId++;
    const framed = new RegExp(`@@BEGIN${id}\\r?\\n([\\s\\S]*?)@@END${id}:(\\d+)`);
    const done = this.watcher.waitFor(framed);
    this.host.writeConsole(`echo "@@""BEGIN${id}"; ${command}; echo "@@""END${id}:$?"\n`);
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.host.name}: "${command}" did not finish within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const match = await Promise.race([done, timeout]);
      return { output: match[1]!.replace(/\r\n/g, '\n'), exitCode: Number(match[2]) };
    } finally {
      clearTimeout(timer);
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
