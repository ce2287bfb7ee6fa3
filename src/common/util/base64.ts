// Standard base64 (RFC 4648, "+/" alphabet, "=" padding) for Uint8Array. The core cannot rely on
// Node's Buffer, and atob/btoa work on binary strings only.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Character code → 6-bit value, or -1 for characters outside the alphabet. */
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;
const CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const PAD = 0x3d; // '='

export function encodeBase64(bytes: Uint8Array): string {
  // Written as ASCII bytes and decoded once: string concatenation per byte triple is ~20x slower.
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const triple = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = CODES[triple >> 18]!;
    out[o++] = CODES[(triple >> 12) & 63]!;
    out[o++] = CODES[(triple >> 6) & 63]!;
    out[o++] = CODES[triple & 63]!;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const triple = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0);
    out[o++] = CODES[triple >> 18]!;
    out[o++] = CODES[(triple >> 12) & 63]!;
    out[o++] = rest === 2 ? CODES[(triple >> 6) & 63]! : PAD;
    out[o++] = PAD;
  }
  return new TextDecoder().decode(out);
}

/** Why `text` is not canonical base64, or undefined when it is. */
function base64Problem(text: string): string | undefined {
  if (text.length % 4 !== 0) return `length ${text.length} is not a multiple of 4`;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const dataLength = text.length - padding;
  for (let i = 0; i < dataLength; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || VALUES[code] === -1) return `invalid character at ${i}`;
  }
  // Canonical form only: the bits below the last full byte must be zero (as every encoder writes).
  if (padding > 0) {
    const last = VALUES[text.charCodeAt(dataLength - 1)]!;
    if ((padding === 2 ? last & 15 : last & 3) !== 0) return 'non-zero padding bits';
  }
  return undefined;
}

/** True when `text` is canonical base64, exactly as encodeBase64 writes it. */
export function isBase64(text: string): boolean {
  return base64Problem(text) === undefined;
}

/** Decodes canonical base64; throws on anything else (whitespace, URL alphabet, missing padding). */
export function decodeBase64(text: string): Uint8Array {
  const problem = base64Problem(text);
  if (problem) throw new SyntaxError(`invalid base64: ${problem}`);
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const bytes = new Uint8Array((text.length / 4) * 3 - padding);
  let out = 0;
  for (let i = 0; i < text.length; i += 4) {
    const v0 = VALUES[text.charCodeAt(i)]!;
    const v1 = VALUES[text.charCodeAt(i + 1)]!;
    // Padding characters map to -1: count them as zero bits (the bytes they stand for are not written).
    const v2 = Math.max(0, VALUES[text.charCodeAt(i + 2)]!);
    const v3 = Math.max(0, VALUES[text.charCodeAt(i + 3)]!);
    const triple = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
    bytes[out++] = triple >> 16;
    if (out < bytes.length) bytes[out++] = (triple >> 8) & 255;
    if (out < bytes.length) bytes[out++] = triple & 255;
  }
  return bytes;
}
