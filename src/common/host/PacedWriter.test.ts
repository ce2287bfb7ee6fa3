import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PacedWriter } from './PacedWriter';

/** A receiver that takes one chunk per posted buffer, as v86's virtio console does. */
function fakeQueue() {
  const received: Uint8Array[] = [];
  const queue = {
    buffers: 0,
    received,
    canAccept: () => queue.buffers > 0,
    send: (chunk: Uint8Array) => {
      if (queue.buffers === 0) throw new Error('sent with no buffer posted: v86 would drop it');
      queue.buffers--;
      received.push(chunk);
    },
    bytes: () => Uint8Array.from(received.flatMap((c) => [...c])),
  };
  return queue;
}

describe('PacedWriter', () => {
  beforeEach(() => { vi.useFakeTimers(); });
  afterEach(() => { vi.useRealTimers(); });

  it('splits writes into chunks of at most 4096 bytes, sent only while the receiver has room', async () => {
    const queue = fakeQueue();
    const writer = new PacedWriter(queue);
    const data = Uint8Array.from({ length: 10_000 }, (_, i) => i % 251);
    queue.buffers = 1;
    writer.write(data);
    expect(queue.received).toEqual([]); // never inside write()
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.received.map((c) => c.length)).toEqual([4096]);
    expect(writer.pendingBytes).toBe(10_000 - 4096);

    await vi.advanceTimersByTimeAsync(50); // blocked: retries, sends nothing
    expect(queue.received).toHaveLength(1);

    queue.buffers = 8;
    await vi.advanceTimersByTimeAsync(5);
    expect(queue.received.map((c) => c.length)).toEqual([4096, 4096, 10_000 - 8192]);
    expect(queue.bytes()).toEqual(data);
    expect(writer.pendingBytes).toBe(0);
    expect(vi.getTimerCount()).toBe(0); // stops retrying once drained
  });

  it('keeps the order of writes and copies what it is given', async () => {
    const queue = fakeQueue();
    queue.buffers = 100;
    const writer = new PacedWriter(queue, { chunkBytes: 3 });
    const reused = new Uint8Array([1, 2, 3, 4]);
    writer.write(reused);
    reused.fill(9);
    writer.write(new Uint8Array([5, 6]));
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.received.map((c) => [...c])).toEqual([[1, 2, 3], [4], [5, 6]]);
  });

  it('drops what is queued on clear() and stops retrying', async () => {
    const queue = fakeQueue();
    const writer = new PacedWriter(queue);
    writer.write(new Uint8Array(100));
    await vi.advanceTimersByTimeAsync(10);
    writer.clear();
    expect(writer.pendingBytes).toBe(0);
    queue.buffers = 10;
    await vi.advanceTimersByTimeAsync(10);
    expect(queue.received).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);

    writer.write(new Uint8Array([7]));
    await vi.advanceTimersByTimeAsync(0);
    expect(queue.received.map((c) => [...c])).toEqual([[7]]);
  });

  it('sends nothing after a clear() that follows a write in the same tick', async () => {
    const queue = fakeQueue();
    queue.buffers = 10;
    const writer = new PacedWriter(queue);
    writer.write(new Uint8Array([1]));
    writer.clear();
    await vi.advanceTimersByTimeAsync(10);
    expect(queue.received).toEqual([]);
  });
});
