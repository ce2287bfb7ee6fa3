// sources: migrate_wire.c util.c err.c
/* page_hash: what the frozen round relies on to send only changed pages. A page that differs from
 * another in any one word (any bit of it) must hash differently; equal pages hash alike; no hash
 * is 0 (an empty slot's mark). */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "cr_image.h"
#include "migrate_wire.h"

int main(void)
{
	static unsigned char a[CR_PAGE], b[CR_PAGE];
	srand(7);
	for (size_t i = 0; i < CR_PAGE; i++)
		a[i] = (unsigned char)rand();
	memcpy(b, a, CR_PAGE);
	check(page_hash(a) == page_hash(b), "equal pages hash alike");
	int missed = 0;
	for (size_t byte = 0; byte < CR_PAGE; byte += 3)
		for (int bit = 0; bit < 8; bit += 3) {
			b[byte] ^= (unsigned char)(1 << bit);
			missed += page_hash(a) == page_hash(b);
			b[byte] ^= (unsigned char)(1 << bit);
		}
	check(missed == 0, "every one-bit change is seen (%d missed)", missed);
	/* Two words changed together: no collision in 20000 random pairs. */
	int same = 0;
	for (int k = 0; k < 20000; k++) {
		size_t i = (size_t)(rand() % (CR_PAGE / 4)) * 4, j = (size_t)(rand() % (CR_PAGE / 4)) * 4;
		uint32_t x = (uint32_t)rand() | 1, y = (uint32_t)rand();
		memcpy(b, a, CR_PAGE);
		b[i] ^= (unsigned char)x;
		b[i + 1] ^= (unsigned char)(x >> 8);
		b[j + 2] ^= (unsigned char)y;
		same += memcmp(a, b, CR_PAGE) != 0 && page_hash(a) == page_hash(b);
	}
	check(same == 0, "two-word changes are seen (%d collisions in 20000)", same);
	memset(b, 0, CR_PAGE);
	check(page_hash(b) != 0 && page_hash(a) != 0, "no page hashes to 0");
	/* A page's last word counts as much as its first. */
	memcpy(b, a, CR_PAGE);
	b[CR_PAGE - 1] ^= 0x80;
	check(page_hash(a) != page_hash(b), "the last byte of the page counts");
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
