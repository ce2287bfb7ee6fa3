// What the page reads of a checkpoint image itself (format: images/tools/ct/cr_image.h): enough to
// recognise one and to name its container. The guest checks the rest when it restores.

/** "CTLABCR" and its NUL. */
const MAGIC = [0x43, 0x54, 0x4c, 0x41, 0x42, 0x43, 0x52, 0x00];
/** struct cr_header: magic[8], version, arch, kernel[128], cpu[64], created_ms (u64), crc. */
const HEADER_BYTES = 8 + 4 + 4 + 128 + 64 + 8 + 4;
/** struct cr_rec: type, len. The first record is the container (type 1), its name[33] first. */
const RECORD_HEADER_BYTES = 8;
const REC_CONTAINER = 1;
const NAME_BYTES = 33;

/** An image id as the agent makes them: 1-48 of a-z, 0-9, '-', '_', starting alphanumeric. */
export const IMAGE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,47}$/;

export function isImageId(id: string): boolean {
  return IMAGE_ID_PATTERN.test(id);
}

/** True when the bytes start like a ctlab checkpoint image. */
export function looksLikeImage(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_BYTES && MAGIC.every((b, i) => bytes[i] === b);
}

/** The name of the container an image holds, or undefined when the bytes do not say. */
export function imageContainerName(bytes: Uint8Array): string | undefined {
  if (!looksLikeImage(bytes) || bytes.length < HEADER_BYTES + RECORD_HEADER_BYTES + NAME_BYTES) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(HEADER_BYTES, true) !== REC_CONTAINER) return undefined;
  const start = HEADER_BYTES + RECORD_HEADER_BYTES;
  const field = bytes.subarray(start, start + NAME_BYTES);
  const end = field.indexOf(0);
  const name = new TextDecoder().decode(field.subarray(0, end === -1 ? NAME_BYTES : end));
  return /^[a-z0-9][a-z0-9_-]{0,31}$/.test(name) ? name : undefined;
}
