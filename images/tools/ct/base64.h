/* Standard base64 (RFC 4648 section 4, with padding): how the agent protocol carries bytes. */
#ifndef CT_BASE64_H
#define CT_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* Characters b64_encode writes for n bytes (without the NUL); SIZE_MAX if that overflows. */
size_t b64_encoded_len(size_t n);
/* Writes b64_encoded_len(n) characters and a NUL to out. */
void b64_encode(char *out, const void *in, size_t n);

/* Most bytes b64_decode can produce from len characters: the size its out buffer needs. */
size_t b64_decoded_max(size_t len);
/* Strict decode: rejects characters outside the alphabet (whitespace and NUL included), a
 * length that is not a multiple of 4, padding anywhere but at the end, and non-zero bits under
 * the padding (so each byte string has exactly one accepted encoding). Returns the number of
 * bytes written to out, or -1 with out's contents unspecified. out may be the same buffer as in. */
ssize_t b64_decode(void *out, const char *in, size_t len);

#endif
