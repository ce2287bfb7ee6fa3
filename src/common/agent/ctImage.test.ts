import { describe, expect, it } from 'vitest';
import { imageContainerName, isImageId, looksLikeImage } from './ctImage';

/** The start of an image: header (220 bytes), then a CONTAINER record holding `name`. */
function imageStart(name: string, type = 1): Uint8Array {
  const bytes = new Uint8Array(220 + 8 + 200);
  bytes.set(new TextEncoder().encode('CTLABCR\0'));
  const view = new DataView(bytes.buffer);
  view.setUint32(220, type, true);
  view.setUint32(224, 200, true);
  bytes.set(new TextEncoder().encode(name), 228);
  return bytes;
}

describe('checkpoint image bytes', () => {
  it('recognises an image and names its container', () => {
    expect(looksLikeImage(imageStart('web'))).toBe(true);
    expect(imageContainerName(imageStart('web'))).toBe('web');
    expect(imageContainerName(imageStart('a'.repeat(32)))).toBe('a'.repeat(32));
  });

  it('says nothing for other bytes', () => {
    expect(looksLikeImage(new TextEncoder().encode('CTLABCR'))).toBe(false);
    expect(imageContainerName(new Uint8Array(500))).toBeUndefined();
    expect(imageContainerName(imageStart('web', 2))).toBeUndefined();
    expect(imageContainerName(imageStart('Bad/Name'))).toBeUndefined();
    expect(imageContainerName(imageStart('web').subarray(0, 230))).toBeUndefined();
  });

  it('accepts only the agent’s image ids', () => {
    expect(isImageId('web-0a1b2c3d')).toBe(true);
    expect(isImageId('upload-00000001')).toBe(true);
    for (const id of ['', '../x', 'a/b', '.', 'A', '-a', 'x'.repeat(49)]) expect(isImageId(id)).toBe(false);
  });
});
