/* Time-ordered request ids. Random bits come from jit_random_bytes(); within one millisecond the
 * random part is incremented so that ids stay unique and ordered. */
#include <pthread.h>
#include <string.h>

#include "lib/common/errors.h"
#include "lib/common/id.h"
#include "lib/common/random.h"
#include "lib/common/timeutil.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t id_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static uint8_t last_random[10];

/* 128 bits (6 bytes of time, 10 of randomness) as 26 base32 characters, most significant
 * first: the first character carries the top 3 bits. */
static void
encode(const uint8_t bytes[16], char *out)
{
	unsigned bit = 0;
	for (int i = 0; i < 26; i++) {
		unsigned width = i == 0 ? 3 : 5;
		unsigned v = 0;
		for (unsigned k = 0; k < width; k++, bit++)
			v = (v << 1) | ((bytes[bit / 8] >> (7 - bit % 8)) & 1);
		out[i] = crockford[v];
	}
	out[26] = '\0';
}

int
jit_id_new_at(uint64_t ms, char *buf, size_t size)
{
	if (size < JIT_ID_LENGTH + 1 || ms >= (1ULL << 48))
		return JIT_ERR_INVALID;
	uint8_t bytes[16];
	int r = 0;
	pthread_mutex_lock(&id_lock);
	if (ms <= last_ms) {
		/* Same (or an earlier) millisecond: keep the last time, increment the random part. */
		ms = last_ms;
		int i = 9;
		while (i >= 0 && ++last_random[i] == 0)
			i--;
		if (i < 0)
			ms = ++last_ms; /* 2^80 ids in one millisecond: move on */
	} else {
		r = jit_random_bytes(last_random, sizeof(last_random));
		last_ms = ms;
	}
	for (int i = 0; i < 6; i++)
		bytes[i] = (uint8_t)(ms >> (8 * (5 - i)));
	memcpy(bytes + 6, last_random, 10);
	pthread_mutex_unlock(&id_lock);
	if (r < 0)
		return r;
	memcpy(buf, JIT_ID_PREFIX, 4);
	encode(bytes, buf + 4);
	return 0;
}

int
jit_id_new(char *buf, size_t size)
{
	return jit_id_new_at((uint64_t)(jit_now_realtime_ns() / 1000000), buf, size);
}

bool
jit_id_valid(const char *text)
{
	if (!text || strlen(text) != JIT_ID_LENGTH || memcmp(text, JIT_ID_PREFIX, 4) != 0)
		return false;
	/* The first character holds 3 bits only. */
	if (text[4] < '0' || text[4] > '7')
		return false;
	for (size_t i = 4; i < JIT_ID_LENGTH; i++)
		if (!strchr(crockford, text[i]) || text[i] == '\0')
			return false;
	return true;
}
