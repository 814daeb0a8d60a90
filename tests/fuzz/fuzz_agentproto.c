/* Fuzz harness: the input is one agent protocol frame body. Whatever the decoder accepts must
 * survive every accessor and re-encode, field by field through the typed writer, to exactly the
 * same bytes; whatever it refuses must be refused without reading out of bounds. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/agentproto/agentproto.h"
#include "tests/fuzz/fuzz.h"

static void
reencode(const struct jit_ap_msg *msg, const uint8_t *data, size_t size)
{
	static uint8_t out[JIT_AP_MAX_FRAME_TOTAL];
	struct jit_ap_writer w;
	size_t len;

	jit_ap_writer_init(&w, out, sizeof(out), msg->type, msg->id);
	for (size_t i = 0; i < msg->nfields; i++) {
		const struct jit_ap_field *f = &msg->fields[i];
		const uint8_t *v = f->value;
		switch (f->tag) {
		case JIT_AP_TAG_VERSION_MIN:
		case JIT_AP_TAG_VERSION_MAX:
		case JIT_AP_TAG_VERSION:
		case JIT_AP_TAG_ERROR_CODE:
			jit_ap_put_u16(&w, f->tag, (uint16_t)(v[0] << 8 | v[1]));
			break;
		case JIT_AP_TAG_DURATION:
		case JIT_AP_TAG_TIMEOUT_MS:
			jit_ap_put_u32(&w, f->tag,
			               (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
			                       (uint32_t)v[2] << 8 | v[3]);
			break;
		case JIT_AP_TAG_BREAK_GLASS:
		case JIT_AP_TAG_LOOKUP_ONLY:
			jit_ap_put_u8(&w, f->tag, v[0]);
			break;
		case JIT_AP_TAG_EXPIRES_AT: {
			uint64_t x = 0;
			for (int k = 0; k < 8; k++)
				x = x << 8 | v[k];
			jit_ap_put_i64(&w, f->tag, (int64_t)x);
			break;
		}
		case JIT_AP_TAG_GRANT: {
			struct jit_ap_grant g;
			if (jit_ap_grant_decode(f, &g) != 0)
				abort();
			jit_ap_put_grant(&w, &g);
			break;
		}
		default: {
			struct jit_ap_str s = jit_ap_field_str(f);
			jit_ap_put_strn(&w, f->tag, s.ptr, s.len);
			break;
		}
		}
	}
	if (jit_ap_writer_finish(&w, &len) != 0)
		abort();
	/* Nested grants are written in a canonical field order, so only compare when the
	 * message carries none. */
	bool has_grant = false;
	for (size_t i = 0; i < msg->nfields; i++)
		has_grant |= msg->fields[i].tag == JIT_AP_TAG_GRANT;
	if (!has_grant && (len - JIT_AP_FRAME_PREFIX != size ||
	                   memcmp(out + JIT_AP_FRAME_PREFIX, data, size) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jit_ap_msg msg;
	uint8_t *copy;
	char text[64];
	uint16_t code, version;

	if (size > JIT_AP_MAX_FRAME + 16)
		return 0;
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (jit_ap_decode(copy, size, &msg) == 0) {
		struct jit_ap_str s;
		struct jit_ap_field f;
		size_t cursor = 0;
		for (uint16_t tag = 0; tag < 40; tag++)
			if (jit_ap_msg_str(&msg, tag, &s) == 0 &&
			    jit_ap_str_copy(text, sizeof(text), s) == 0 && strlen(text) != s.len)
				abort();
		while (jit_ap_msg_next(&msg, JIT_AP_TAG_GRANT, &cursor, &f) == 0) {
			struct jit_ap_grant g;
			if (jit_ap_grant_decode(&f, &g) != 0)
				abort();
		}
		(void)jit_ap_msg_error(&msg, &code, text, sizeof(text));
		(void)jit_ap_server_hello(&msg, &version);
		reencode(&msg, copy, size);
	}
	free(copy);
	return 0;
}
