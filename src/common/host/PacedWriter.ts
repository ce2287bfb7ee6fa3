import type { Disposable } from '../util/Emitter';

/** Where a PacedWriter delivers: a receiver that can take a chunk only at certain times. */
export interface PacedTarget {
  /** True while the receiver can take one more chunk without losing it. */
  canAccept(): boolean;
  send(chunk: Uint8Array): void;
}

export interface PacedWriterOptions {
  /** Largest chunk handed to the target. */
  chunkBytes?: number;
  /** How long to wait before asking a blocked target again. */
  retryMs?: number;
}

/**
 * Queues bytes and hands them to a target in bounded chunks, one at a time and only while it can
 * take them: v86's virtio console drops input when the guest has posted no receive buffer, and each
 * buffer holds one page. Sending starts on a microtask, never inside write(), so a caller reacting
 * to guest output is never re-entered into the emulator's device code.
 */
export class PacedWriter implements Disposable {
  private readonly chunkBytes: number;
  private readonly retryMs: number;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private scheduled = false;
  private retryTimer: unknown;
  private generation = 0;

  constructor(private readonly target: PacedTarget, options: PacedWriterOptions = {}) {
    this.chunkBytes = options.chunkBytes ?? 4096;
    this.retryMs = options.retryMs ?? 2;
  }

  /** Bytes queued but not yet handed to the target. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** Queues a copy of `data` (the caller may reuse its buffer). */
  write(data: Uint8Array): void {
    for (let start = 0; start < data.length; start += this.chunkBytes) {
      const chunk = data.slice(start, start + this.chunkBytes);
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
    }
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      const generation = this.generation;
      queueMicrotask(() => {
        if (generation === this.generation) this.pump();
      });
    }
  }

  /** Drops everything queued (the receiver was reset or is gone). */
  clear(): void {
    this.generation++;
    this.queue = [];
    this.queuedBytes = 0;
    this.scheduled = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  dispose(): void {
    this.clear();
  }

  private pump(): void {
    this.scheduled = false;
    this.retryTimer = undefined;
    while (this.queue.length > 0 && this.target.canAccept()) {
      const chunk = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      this.target.send(chunk);
    }
    if (this.queue.length > 0) {
      this.scheduled = true;
      this.retryTimer = setTimeout(() => this.pump(), this.retryMs);
    }
  }
}
