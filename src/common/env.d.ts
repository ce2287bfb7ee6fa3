// The few host-environment globals the core uses. Browsers, workers and Node all provide them;
// the core's tsconfig leaves out both "dom" and Node's types so nothing else slips in.
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function queueMicrotask(callback: () => void): void;
declare const performance: { now(): number };
declare class TextDecoder {
  constructor(label?: string);
  decode(input?: Uint8Array, options?: { stream?: boolean }): string;
}
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
/** Web Crypto's CSPRNG, in browsers, workers and Node 20 alike (the migration key). */
declare const crypto: { getRandomValues<T extends Uint8Array>(array: T): T };
