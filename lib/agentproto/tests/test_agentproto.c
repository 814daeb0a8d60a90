/* Unit tests of the agent protocol library: encode/decode round trips for every message type,
 * the decoder's refusals (lengths, tags, counts, strings, required fields), the encoder's
 * overflow reports, and frame I/O over a socketpair with deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/agentproto/agentproto.h"
#include "lib/common/errors.h"

#define UNUSED_STATE void **state __attribute__((unused))

static uint8_t frame[JIT_AP_MAX_FRAME_TOTAL];
static struct jit_ap_msg msg;

/* Finishes w and decodes the body back into msg. */
static int
roundtrip(struct jit_ap_writer *w)
{
	size_t len;
	int r = jit_ap_writer_finish(w, &len);
	if (r < 0)
		return r;
	assert_int_equal(frame[0] << 24 | frame[1] << 16 | frame[2] << 8 | frame[3],
	                 len - JIT_AP_FRAME_PREFIX);
	return jit_ap_decode(frame + JIT_AP_FRAME_PREFIX, len - JIT_AP_FRAME_PREFIX, &msg);
}

static void
test_grant_ensure_roundtrip(UNUSED_STATE)
{
	struct jit_ap_writer w;
	struct jit_ap_str s;
	uint32_t d;

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_ENSURE, 0xdeadbeef);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, "alice");
	jit_ap_put_str(&w, JIT_AP_TAG_PROVIDER, "aws");
	jit_ap_put_str(&w, JIT_AP_TAG_ROLE, "prod-admin");
	jit_ap_put_str(&w, JIT_AP_TAG_SCOPE, "123456789012");
	jit_ap_put_u32(&w, JIT_AP_TAG_DURATION, 3600);
	jit_ap_put_str(&w, JIT_AP_TAG_REASON, "Investigating P1 — ECS crash");
	jit_ap_put_u8(&w, JIT_AP_TAG_BREAK_GLASS, 1);
	assert_int_equal(roundtrip(&w), 0);
	assert_int_equal(msg.type, JIT_AP_GRANT_ENSURE);
	assert_int_equal(msg.id, 0xdeadbeef);
	assert_int_equal(msg.nfields, 7);
	assert_int_equal(jit_ap_msg_str(&msg, JIT_AP_TAG_USER, &s), 0);
	assert_true(jit_ap_str_eq(s, "alice"));
	assert_int_equal(jit_ap_msg_str(&msg, JIT_AP_TAG_REASON, &s), 0);
	assert_true(jit_ap_str_eq(s, "Investigating P1 — ECS crash"));
	assert_int_equal(jit_ap_msg_u32(&msg, JIT_AP_TAG_DURATION, &d), 0);
	assert_int_equal(d, 3600);
	assert_true(jit_ap_msg_flag(&msg, JIT_AP_TAG_BREAK_GLASS));
	assert_false(jit_ap_msg_flag(&msg, JIT_AP_TAG_LOOKUP_ONLY));
	assert_int_equal(jit_ap_msg_str(&msg, JIT_AP_TAG_SESSION_ID, &s), -ENOENT);
	/* A string accessor does not read a U32 field. */
	assert_int_equal(jit_ap_msg_str(&msg, JIT_AP_TAG_DURATION, &s), -ENOENT);
}

static void
test_required_fields(UNUSED_STATE)
{
	struct jit_ap_writer w;

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_ENSURE, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, "alice");
	jit_ap_put_str(&w, JIT_AP_TAG_PROVIDER, "aws");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID); /* ROLE missing */

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_WAIT, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, "alice");
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "req_1");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID); /* TIMEOUT_MS missing */
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_WAIT, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, "alice");
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "req_1");
	jit_ap_put_u32(&w, JIT_AP_TAG_TIMEOUT_MS, 90000);
	assert_int_equal(roundtrip(&w), 0);
}

static void
test_tag_not_allowed_or_duplicate(UNUSED_STATE)
{
	struct jit_ap_writer w;

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_DROP_GRANT, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "r");
	jit_ap_put_str(&w, JIT_AP_TAG_USER, "bob"); /* user verbs never name a user */
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_DROP_GRANT, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "r");
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "s");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
}

static void
test_strings_checked(UNUSED_STATE)
{
	struct jit_ap_writer w;
	char big[JIT_AP_MAX_REASON + 2];

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_MY_CREDENTIALS, 1);
	jit_ap_put_strn(&w, JIT_AP_TAG_REQUEST_ID, "a\0b", 3);
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_MY_CREDENTIALS, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "\xc0\xaf"); /* overlong */
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_MY_CREDENTIALS, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "\xed\xa0\x80"); /* surrogate */
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_MY_CREDENTIALS, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "a\033[2J"); /* terminal escape */
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_ENSURE, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_USER, "alice");
	jit_ap_put_str(&w, JIT_AP_TAG_PROVIDER, "aws");
	jit_ap_put_str(&w, JIT_AP_TAG_ROLE, "r");
	jit_ap_put_str(&w, JIT_AP_TAG_REASON, big);
	assert_int_equal(roundtrip(&w), JIT_ERR_TOO_LARGE);

	/* ENV must be NAME=VALUE. */
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_CREDENTIALS, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_ENV, "1AWS=x");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_CREDENTIALS, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_ENV, "NOVALUE");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_SESSION_ENV, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_ENV, "AWS_REGION=eu-west-1");
	jit_ap_put_str(&w, JIT_AP_TAG_ENV, "EMPTY=");
	jit_ap_put_str(&w, JIT_AP_TAG_SESSION_DIR, "relative/dir");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
}

static void
test_env_list_bounded(UNUSED_STATE)
{
	struct jit_ap_writer w;
	struct jit_ap_field f;
	size_t cursor = 0, n = 0;
	char entry[32];

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_SESSION_ENV, 7);
	for (int i = 0; i < JIT_AP_MAX_ENV; i++) {
		snprintf(entry, sizeof(entry), "V%d=%d", i, i);
		jit_ap_put_str(&w, JIT_AP_TAG_ENV, entry);
	}
	jit_ap_put_str(&w, JIT_AP_TAG_SESSION_DIR, "/run/jitsudo/1000/s1");
	assert_int_equal(roundtrip(&w), 0);
	while (jit_ap_msg_next(&msg, JIT_AP_TAG_ENV, &cursor, &f) == 0) {
		snprintf(entry, sizeof(entry), "V%zu=%zu", n, n);
		assert_true(jit_ap_str_eq(jit_ap_field_str(&f), entry));
		n++;
	}
	assert_int_equal(n, JIT_AP_MAX_ENV);

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_SESSION_ENV, 7);
	for (int i = 0; i <= JIT_AP_MAX_ENV; i++)
		jit_ap_put_str(&w, JIT_AP_TAG_ENV, "A=b");
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
}

static void
test_grant_list(UNUSED_STATE)
{
	struct jit_ap_writer w;
	struct jit_ap_field f;
	struct jit_ap_grant g = {
		.request_id = { "req_01", 6 },
		.state = { "ACTIVE", 6 },
		.provider = { "aws", 3 },
		.role = { "admin", 5 },
		.has_expires_at = true,
		.expires_at = 1700000000,
	}, out;
	size_t cursor = 0;

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_LIST, 3);
	jit_ap_put_grant(&w, &g);
	g.scope = (struct jit_ap_str){ "123", 3 };
	g.has_expires_at = false;
	jit_ap_put_grant(&w, &g);
	assert_int_equal(roundtrip(&w), 0);
	assert_int_equal(jit_ap_msg_next(&msg, JIT_AP_TAG_GRANT, &cursor, &f), 0);
	assert_int_equal(jit_ap_grant_decode(&f, &out), 0);
	assert_true(jit_ap_str_eq(out.request_id, "req_01"));
	assert_true(jit_ap_str_eq(out.state, "ACTIVE"));
	assert_null(out.scope.ptr);
	assert_true(out.has_expires_at);
	assert_int_equal(out.expires_at, 1700000000);
	assert_int_equal(jit_ap_msg_next(&msg, JIT_AP_TAG_GRANT, &cursor, &f), 0);
	assert_int_equal(jit_ap_grant_decode(&f, &out), 0);
	assert_true(jit_ap_str_eq(out.scope, "123"));
	assert_false(out.has_expires_at);
	assert_int_equal(jit_ap_msg_next(&msg, JIT_AP_TAG_GRANT, &cursor, &f), -ENOENT);

	/* A grant without its role is refused. */
	g.role.ptr = NULL;
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_GRANT_LIST, 3);
	jit_ap_put_grant(&w, &g);
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
}

static void
test_hello(UNUSED_STATE)
{
	struct jit_ap_writer w;
	uint16_t v;

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MIN, 1);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MAX, 5);
	assert_int_equal(roundtrip(&w), 0);
	assert_int_equal(jit_ap_server_hello(&msg, &v), 0);
	assert_int_equal(v, JIT_AP_VERSION_MAX);

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MIN, 7);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MAX, 9);
	assert_int_equal(roundtrip(&w), 0);
	assert_int_equal(jit_ap_server_hello(&msg, &v), JIT_ERR_DENIED);

	/* min > max, only one bound, or both forms at once are malformed. */
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MIN, 3);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MAX, 2);
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MIN, 1);
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MIN, 1);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION_MAX, 1);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION, 1);
	assert_int_equal(roundtrip(&w), JIT_ERR_INVALID);

	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, 0);
	jit_ap_put_u16(&w, JIT_AP_TAG_VERSION, 1);
	assert_int_equal(roundtrip(&w), 0);
	assert_int_equal(jit_ap_server_hello(&msg, &v), JIT_ERR_PROTOCOL);
}

static void
test_raw_malformed(UNUSED_STATE)
{
	/* type OK, id 1, then a field header promising more than there is. */
	uint8_t cut[] = { JIT_AP_OK, 0, 0, 0, 1, 0, 5, 0, 10, 'a' };
	uint8_t unknown_type[] = { 200, 0, 0, 0, 1 };
	uint8_t trailing[] = { JIT_AP_OK, 0, 0, 0, 1, 0 };
	uint8_t unknown_tag[] = { JIT_AP_MY_GRANTS, 0, 0, 0, 1, 0x7f, 0x7f, 0, 0 };
	uint8_t bad_width[] = { JIT_AP_ERROR, 0, 0, 0, 1, 0, 4, 0, 1, 1 };
	uint8_t bad_flag[] = { JIT_AP_GRANT_ENSURE,
		               0,
		               0,
		               0,
		               1,
		               0,
		               16,
		               0,
		               1,
		               'a',
		               0,
		               17,
		               0,
		               1,
		               'a',
		               0,
		               18,
		               0,
		               1,
		               'a',
		               0,
		               22,
		               0,
		               1,
		               2 };
	uint8_t ok[] = { JIT_AP_OK, 0, 0, 0, 9 };

	assert_int_equal(jit_ap_decode(cut, sizeof(cut), &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(unknown_type, sizeof(unknown_type), &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(trailing, sizeof(trailing), &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(unknown_tag, sizeof(unknown_tag), &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(bad_width, sizeof(bad_width), &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(bad_flag, sizeof(bad_flag), &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(ok, 4, &msg), JIT_ERR_INVALID);
	assert_int_equal(jit_ap_decode(ok, JIT_AP_MAX_FRAME + 1, &msg), JIT_ERR_TOO_LARGE);
	assert_int_equal(jit_ap_decode(ok, sizeof(ok), &msg), 0);
	assert_int_equal(msg.id, 9);
	assert_int_equal(msg.nfields, 0);
}

static void
test_encoder_overflow(UNUSED_STATE)
{
	struct jit_ap_writer w;
	uint8_t small[16];
	size_t len;

	jit_ap_writer_init(&w, small, sizeof(small), JIT_AP_MY_CREDENTIALS, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_REQUEST_ID, "a-request-id-too-long-for-16");
	assert_int_equal(jit_ap_writer_finish(&w, &len), JIT_ERR_TOO_LARGE);
	jit_ap_writer_init(&w, small, 4, JIT_AP_OK, 1);
	assert_int_equal(jit_ap_writer_finish(&w, &len), JIT_ERR_TOO_LARGE);
	/* A value put on the wrong kind of tag. */
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_ERROR, 1);
	jit_ap_put_str(&w, JIT_AP_TAG_ERROR_CODE, "1");
	assert_int_equal(jit_ap_writer_finish(&w, &len), JIT_ERR_INVALID);
	/* The frame limit holds even with a bigger buffer: 64 entries of 8 KiB do not fit. */
	static char entry[JIT_AP_MAX_ENV_ENTRY + 1];
	memset(entry, 'v', JIT_AP_MAX_ENV_ENTRY);
	entry[0] = 'A';
	entry[1] = '=';
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_CREDENTIALS, 1);
	for (int i = 0; i < 9; i++)
		jit_ap_put_str(&w, JIT_AP_TAG_ENV, entry);
	assert_int_equal(jit_ap_writer_finish(&w, &len), JIT_ERR_TOO_LARGE);
}

static void
test_error_frame(UNUSED_STATE)
{
	static char longmsg[2000];
	char text[8];
	uint16_t code;
	size_t len;

	/* 3-byte characters: the cut falls inside one and must back off to its start. */
	for (size_t i = 0; i + 3 <= sizeof(longmsg) - 1; i += 3)
		memcpy(longmsg + i, "\xe2\x82\xac", 3);
	assert_int_equal(
	        jit_ap_encode_error(frame, sizeof(frame), 5, JIT_AP_ERR_DENIED, longmsg, &len), 0);
	assert_int_equal(jit_ap_decode(frame + 4, len - 4, &msg), 0);
	assert_int_equal(jit_ap_msg_error(&msg, &code, text, sizeof(text)), 0);
	assert_int_equal(code, JIT_AP_ERR_DENIED);
	assert_string_equal(text, "\xe2\x82\xac\xe2\x82\xac");
	assert_string_equal(jit_ap_error_name(JIT_AP_ERR_SERVER_UNREACHABLE), "server unreachable");
	assert_string_equal(jit_ap_type_name(JIT_AP_SESSION_OPEN), "SESSION_OPEN");
}

static void
test_str_copy(UNUSED_STATE)
{
	char buf[4];
	struct jit_ap_str s = { "abc", 3 }, t = { "abcd", 4 }, none = { NULL, 0 };
	assert_int_equal(jit_ap_str_copy(buf, sizeof(buf), s), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(jit_ap_str_copy(buf, sizeof(buf), t), JIT_ERR_TOO_LARGE);
	assert_string_equal(buf, "");
	assert_int_equal(jit_ap_str_copy(buf, sizeof(buf), none), 0);
	assert_string_equal(buf, "");
	assert_false(jit_ap_str_eq(none, ""));
}

static void
test_io_socketpair(UNUSED_STATE)
{
	int sv[2];
	struct jit_ap_writer w;
	uint8_t body[JIT_AP_MAX_FRAME];
	size_t len, got;
	uid_t uid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_OK, 42);
	assert_int_equal(jit_ap_writer_finish(&w, &len), 0);
	assert_int_equal(jit_ap_send(sv[0], frame, len, jit_ap_deadline_ms(1000)), 0);
	assert_int_equal(jit_ap_recv(sv[1], body, sizeof(body), &got, jit_ap_deadline_ms(1000)), 0);
	assert_int_equal(got, len - 4);
	assert_int_equal(jit_ap_decode(body, got, &msg), 0);
	assert_int_equal(msg.id, 42);
	assert_int_equal(jit_ap_peer_cred(sv[1], NULL, &uid, NULL), 0);
	assert_int_equal(uid, getuid());

	/* Nothing to read: the deadline ends the wait. */
	uint64_t t0 = jit_ap_now_ns();
	assert_int_equal(jit_ap_recv(sv[1], body, sizeof(body), &got, jit_ap_deadline_ms(50)),
	                 JIT_ERR_TIMEOUT);
	uint64_t waited = jit_ap_now_ns() - t0;
	assert_true(waited >= 45000000ull && waited < 1000000000ull);

	/* A partial frame, then nothing: timeout; then the peer closes: cut. */
	uint8_t partial[] = { 0, 0, 0, 10, 1, 2 };
	assert_int_equal(send(sv[0], partial, sizeof(partial), 0), (ssize_t)sizeof(partial));
	assert_int_equal(jit_ap_recv(sv[1], body, sizeof(body), &got, jit_ap_deadline_ms(50)),
	                 JIT_ERR_TIMEOUT);

	/* An oversized length is refused without reading the body. */
	uint8_t huge[] = { 0, 1, 0, 1 };
	int sv2[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2), 0);
	assert_int_equal(send(sv2[0], huge, sizeof(huge), 0), 4);
	assert_int_equal(jit_ap_recv(sv2[1], body, sizeof(body), &got, jit_ap_deadline_ms(500)),
	                 JIT_ERR_TOO_LARGE);
	uint8_t zero[] = { 0, 0, 0, 0 };
	assert_int_equal(send(sv2[0], zero, sizeof(zero), 0), 4);
	assert_int_equal(jit_ap_recv(sv2[1], body, sizeof(body), &got, jit_ap_deadline_ms(500)),
	                 JIT_ERR_TOO_LARGE);
	close(sv2[0]);
	assert_int_equal(jit_ap_recv(sv2[1], body, sizeof(body), &got, jit_ap_deadline_ms(500)),
	                 -ENODATA);
	close(sv2[1]);

	/* A frame cut by the peer closing. */
	assert_int_equal(send(sv[0], partial, sizeof(partial), 0), (ssize_t)sizeof(partial));
	close(sv[0]);
	assert_int_equal(jit_ap_recv(sv[1], body, sizeof(body), &got, jit_ap_deadline_ms(500)),
	                 JIT_ERR_PROTOCOL);
	/* Sending to a closed peer reports EPIPE, without a SIGPIPE killing the test. */
	assert_int_equal(jit_ap_send(sv[1], frame, len, jit_ap_deadline_ms(500)), -EPIPE);
	close(sv[1]);
}

static void
test_connect_and_hello(UNUSED_STATE)
{
	char path[] = "/tmp/jit-ap-test-XXXXXX";
	char sock[64];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int lfd, fd = -1, cfd;
	uint8_t body[JIT_AP_MAX_FRAME];
	size_t got, len;
	uint16_t v;

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/s", path);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
	assert_int_equal(jit_ap_connect(sock, (uid_t)-1, jit_ap_deadline_ms(200), &fd), -ENOENT);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	/* The owner check refuses a socket not owned by the expected uid. */
	assert_int_equal(jit_ap_connect(sock, getuid() + 1, jit_ap_deadline_ms(200), &fd), -EPERM);
	assert_int_equal(jit_ap_connect(sock, getuid(), jit_ap_deadline_ms(200), &fd), 0);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(cfd >= 0);

	/* Play the agent: answer the client's HELLO. The client sends first, so answer after. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jit_ap_msg m;
		uint16_t chosen;
		struct jit_ap_writer w;
		if (jit_ap_recv(cfd, body, sizeof(body), &got, jit_ap_deadline_ms(2000)) < 0 ||
		    jit_ap_decode(body, got, &m) < 0 || jit_ap_server_hello(&m, &chosen) < 0)
			_exit(1);
		jit_ap_writer_init(&w, frame, sizeof(frame), JIT_AP_HELLO, m.id);
		jit_ap_put_u16(&w, JIT_AP_TAG_VERSION, chosen);
		if (jit_ap_writer_finish(&w, &len) < 0 ||
		    jit_ap_send(cfd, frame, len, jit_ap_deadline_ms(2000)) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(jit_ap_client_hello(fd, jit_ap_deadline_ms(2000), &v), 0);
	assert_int_equal(v, 1);
	close(fd);
	close(cfd);
	close(lfd);
	unlink(sock);
	rmdir(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grant_ensure_roundtrip),
		cmocka_unit_test(test_required_fields),
		cmocka_unit_test(test_tag_not_allowed_or_duplicate),
		cmocka_unit_test(test_strings_checked),
		cmocka_unit_test(test_env_list_bounded),
		cmocka_unit_test(test_grant_list),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_raw_malformed),
		cmocka_unit_test(test_encoder_overflow),
		cmocka_unit_test(test_error_frame),
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_io_socketpair),
		cmocka_unit_test(test_connect_and_hello),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
