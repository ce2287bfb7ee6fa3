import { Emitter, type Disposable } from '../util/Emitter';
import type { FrameEndpoint } from './types';

/** The part of a MessagePort (browser or worker_threads) a frame link needs. */
export interface MessagePortLike {
  postMessage(message: unknown, transfer?: unknown[]): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  close(): void;
}

/**
 * A FrameEndpoint over a MessagePort: how a host's NIC in one worker and the switch in another
 * exchange frames directly, without a detour through the page's UI thread. Frames are
 * transferred, not copied: the sender gives up each frame it sends.
 */
export class PortEndpoint implements FrameEndpoint, Disposable {
  private readonly frames = new Emitter<Uint8Array>();
  readonly onFrame = this.frames.event;
  /** Messages that were not a frame (a bug on the other side, never expected): dropped. */
  malformed = 0;

  constructor(private readonly port: MessagePortLike) {
    port.onmessage = (event) => {
      const data = event.data;
      if (data instanceof Uint8Array && data.byteLength >= 14) this.frames.fire(data);
      else this.malformed++;
    };
  }

  send(frame: Uint8Array): void {
    // A copy of our own to transfer: the switch may hand one frame to several ports (flooding),
    // and structured cloning a view would copy its whole underlying buffer anyway.
    const own = frame.slice();
    this.port.postMessage(own, [own.buffer]);
  }

  dispose(): void {
    this.port.onmessage = null;
    this.port.close();
    this.frames.dispose();
  }
}
