#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t b64_encoded_len(size_t n)
{
	if (n / 3 >= SIZE_MAX / 4)
		return SIZE_MAX;
	return (n + 2) / 3 * 4;
}

void b64_encode(char *out, const void *in, size_t n)
{
	const unsigned char *s = in;
	for (; n >= 3; n -= 3, s += 3) {
		uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = alphabet[v >> 6 & 63];
		*out++ = alphabet[v & 63];
	}
	if (n) {
		uint32_t v = (uint32_t)s[0] << 16 | (n == 2 ? (uint32_t)s[1] << 8 : 0);
		*out++ = alphabet[v >> 18];
		*out++ = alphabet[v >> 12 & 63];
		*out++ = n == 2 ? alphabet[v >> 6 & 63] : '=';
		*out++ = '=';
	}
	*out = '\0';
}

size_t b64_decoded_max(size_t len)
{
	return len / 4 * 3;
}

/* The 6-bit value of a base64 character, or -1. */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t b64_decode(void *out, const char *in, size_t len)
{
	unsigned char *d = out;
	if (len % 4 || len / 4 * 3 > SSIZE_MAX)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		/* Read the whole group before writing: that is what makes decoding in place safe. */
		int pad = 0, v[4];
		bool last = i + 4 == len;
		for (int k = 0; k < 4; k++) {
			v[k] = sextet(in[i + k]);
			if (v[k] >= 0 && pad)
				return -1;   /* data after '=' */
			if (v[k] < 0) {
				if (in[i + k] != '=' || !last || k < 2)
					return -1;
				pad++;
				v[k] = 0;
			}
		}
		uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff)))
			return -1;   /* stray bits under the padding: not the canonical encoding */
		*d++ = bits >> 16;
		if (pad < 2)
			*d++ = bits >> 8 & 0xff;
		if (pad < 1)
			*d++ = bits & 0xff;
	}
	return d - (unsigned char *)out;
}
