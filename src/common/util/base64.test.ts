import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64, isBase64 } from './base64';

describe('base64', () => {
  it('matches Node’s encoder for every tail length and all byte values', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let length = 0; length <= 256; length++) {
      const bytes = all.subarray(256 - length);
      const text = encodeBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(decodeBase64(text)).toEqual(Uint8Array.from(bytes));
    }
  });

  it('round-trips a megabyte of random data', () => {
    const bytes = new Uint8Array(1024 * 1024 + 1);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const text = encodeBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString('base64'));
    // Buffer's comparison: vitest's deep equality walks a megabyte element by element, slowly.
    expect(Buffer.from(decodeBase64(text)).equals(bytes)).toBe(true);
  });

  it('decodes strictly: canonical standard base64 only', () => {
    for (const bad of ['Q', 'QQ', 'QQ=', 'Q===', '====', 'QQ==QQ==', 'Q Q=', 'QQ==\n', '-_8=', 'QR==', 'QUJ=', 'Ã€==']) {
      expect(isBase64(bad), bad).toBe(false);
      expect(() => decodeBase64(bad), bad).toThrow(SyntaxError);
    }
    for (const good of ['', 'QQ==', 'QUI=', 'QUJD', '+/+/']) expect(isBase64(good), good).toBe(true);
  });
});
