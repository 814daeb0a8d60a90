/* The agent protocol spoken between pam_jitsudo / the jitsudo CLI and jitsudo-agent over a Unix
 * socket: frame format, message types, field tags, error codes, a validating decoder, a bounded
 * encoder and frame I/O with a monotonic deadline. Trusts no byte it reads; no threads, no
 * signals, no allocation, no logging, so it is safe inside a PAM module. docs/agent-protocol.md
 * describes the same wire format for other implementations. */
#ifndef JIT_AGENTPROTO_H
#define JIT_AGENTPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- constants ---------------------------------------------------------------------------- */

/* Protocol versions this library speaks; HELLO negotiates the highest both sides support. */
#define JIT_AP_VERSION_MIN 1
#define JIT_AP_VERSION_MAX 1

/* A frame is a u32 big-endian body length (1..JIT_AP_MAX_FRAME) followed by the body. */
#define JIT_AP_FRAME_PREFIX 4
#define JIT_AP_MAX_FRAME 65536
/* Buffer size that holds any whole frame, prefix included. */
#define JIT_AP_MAX_FRAME_TOTAL (JIT_AP_FRAME_PREFIX + JIT_AP_MAX_FRAME)
/* Body header: u8 message type, u32 request id. */
#define JIT_AP_BODY_HEADER 5
/* Field header: u16 tag, u16 value length. */
#define JIT_AP_FIELD_HEADER 4
/* At most this many top-level fields in one message (a nested GRANT counts as one). */
#define JIT_AP_MAX_FIELDS 256
/* At most this many ENV fields in SESSION_ENV / CREDENTIALS, GRANT fields in GRANT_LIST. */
#define JIT_AP_MAX_ENV 64
#define JIT_AP_MAX_GRANTS 64

/* Longest value of each string field, in bytes (no terminating NUL on the wire). */
#define JIT_AP_MAX_USER 256
#define JIT_AP_MAX_PROVIDER 32
#define JIT_AP_MAX_ROLE 256
#define JIT_AP_MAX_SCOPE 256
#define JIT_AP_MAX_REASON 1024
#define JIT_AP_MAX_REQUEST_ID 64
#define JIT_AP_MAX_STATE 16
#define JIT_AP_MAX_SESSION_ID 128
#define JIT_AP_MAX_MESSAGE 1024
#define JIT_AP_MAX_ENV_ENTRY 8192 /* one NAME=VALUE */
#define JIT_AP_MAX_PATH 4096

/* Default socket paths (the agent's runtime directory is configurable). */
#define JIT_AP_PAM_SOCKET "/run/jitsudo/agent.sock"
#define JIT_AP_USER_SOCKET "/run/jitsudo/user.sock"

/* ---- message types (u8) ------------------------------------------------------------------- */

enum jit_ap_type {
	/* Both directions: the first frame on every connection. */
	JIT_AP_HELLO = 1,
	/* Replies usable for any request. */
	JIT_AP_ERROR = 2,
	JIT_AP_OK = 3,
	/* PAM verbs: accepted only on the root-only PAM socket, from a uid 0 peer. */
	JIT_AP_GRANT_ENSURE = 16,
	JIT_AP_GRANT_WAIT = 17,
	JIT_AP_SESSION_OPEN = 18,
	JIT_AP_SESSION_CLOSE = 19,
	/* User verbs: accepted on either socket, always about the peer's own uid. */
	JIT_AP_MY_GRANTS = 32,
	JIT_AP_MY_CREDENTIALS = 33,
	JIT_AP_DROP_GRANT = 34,
	/* Replies. */
	JIT_AP_GRANT_STATE = 64, /* to GRANT_ENSURE and GRANT_WAIT */
	JIT_AP_SESSION_ENV = 65, /* to SESSION_OPEN */
	JIT_AP_GRANT_LIST = 66,  /* to MY_GRANTS */
	JIT_AP_CREDENTIALS = 67, /* to MY_CREDENTIALS */
};

/* ---- field tags (u16) ----------------------------------------------------------------------
 * Each tag has one fixed value kind: STR (UTF-8, no NUL, bounded by JIT_AP_MAX_*), U8 flag
 * (0 or 1), U16, U32, I64 (big-endian) or GRANT (a nested TLV sequence, see below). Which tags a
 * message may carry, and which it must, is listed with each field. */
enum jit_ap_tag {
	JIT_AP_TAG_VERSION_MIN = 1,  /* U16  HELLO (client): lowest version spoken */
	JIT_AP_TAG_VERSION_MAX = 2,  /* U16  HELLO (client): highest version spoken */
	JIT_AP_TAG_VERSION = 3,      /* U16  HELLO (agent): the version chosen */
	JIT_AP_TAG_ERROR_CODE = 4,   /* U16  ERROR: enum jit_ap_error */
	JIT_AP_TAG_MESSAGE = 5,      /* STR  ERROR, GRANT_STATE: text for the user (e.g. denial) */
	JIT_AP_TAG_USER = 16,        /* STR  local user name (PAM verbs) */
	JIT_AP_TAG_PROVIDER = 17,    /* STR  e.g. "aws" */
	JIT_AP_TAG_ROLE = 18,        /* STR  */
	JIT_AP_TAG_SCOPE = 19,       /* STR  resource_scope */
	JIT_AP_TAG_DURATION = 20,    /* U32  seconds; 0 or absent: the agent's default */
	JIT_AP_TAG_REASON = 21,      /* STR  */
	JIT_AP_TAG_BREAK_GLASS = 22, /* U8  1: request break-glass */
	JIT_AP_TAG_LOOKUP_ONLY = 23, /* U8  1: only look for a held grant, never create one */
	JIT_AP_TAG_REQUEST_ID = 24,  /* STR  the server's request id */
	JIT_AP_TAG_STATE = 25,       /* STR  seed 000 state: PENDING APPROVED REJECTED ACTIVE ... */
	JIT_AP_TAG_EXPIRES_AT = 26,  /* I64  Unix seconds */
	JIT_AP_TAG_TIMEOUT_MS = 27,  /* U32  GRANT_WAIT: how long to wait */
	JIT_AP_TAG_SESSION_ID = 28,  /* STR  PAM session id chosen by the module */
	JIT_AP_TAG_ENV = 29,         /* STR  NAME=VALUE, repeated */
	JIT_AP_TAG_SESSION_DIR = 30, /* STR  absolute path of the session directory */
	JIT_AP_TAG_GRANT = 31,       /* GRANT one grant in GRANT_LIST */
};

/* Message schemas ("1" required once, "?" optional once, "*" repeated, bounded):
 *   HELLO (client)  VERSION_MIN 1, VERSION_MAX 1          (VERSION_MIN <= VERSION_MAX)
 *   HELLO (agent)   VERSION 1
 *   ERROR           ERROR_CODE 1, MESSAGE ?
 *   OK              -
 *   GRANT_ENSURE    USER 1, PROVIDER 1, ROLE 1, SCOPE ?, DURATION ?, REASON ?, BREAK_GLASS ?,
 *                   LOOKUP_ONLY ?
 *   GRANT_WAIT      USER 1, REQUEST_ID 1, TIMEOUT_MS 1
 *   SESSION_OPEN    USER 1, SESSION_ID 1, PROVIDER ?, ROLE ?, SCOPE ?
 *   SESSION_CLOSE   USER 1, SESSION_ID 1
 *   MY_GRANTS       -
 *   MY_CREDENTIALS  REQUEST_ID 1
 *   DROP_GRANT      REQUEST_ID 1
 *   GRANT_STATE     REQUEST_ID 1, STATE 1, EXPIRES_AT ?, PROVIDER ?, ROLE ?, SCOPE ?, MESSAGE ?
 *   SESSION_ENV     ENV * (<= JIT_AP_MAX_ENV), SESSION_DIR ?
 *   GRANT_LIST      GRANT * (<= JIT_AP_MAX_GRANTS)
 *   CREDENTIALS     ENV * (<= JIT_AP_MAX_ENV)
 * A GRANT value is itself a sequence of fields: REQUEST_ID 1, STATE 1, PROVIDER 1, ROLE 1,
 * SCOPE ?, EXPIRES_AT ?. Unknown tags, tags not listed for the type, duplicates of "1"/"?"
 * fields, missing required fields and trailing bytes are all errors. Field order is free. */

/* ---- error codes carried by ERROR (u16) --------------------------------------------------- */

enum jit_ap_error {
	JIT_AP_ERR_BAD_REQUEST = 1,        /* malformed frame or fields, or a verb out of turn */
	JIT_AP_ERR_FORBIDDEN = 2,          /* the peer may not use this verb or this object */
	JIT_AP_ERR_NOT_FOUND = 3,          /* no such grant / request / session */
	JIT_AP_ERR_DENIED = 4,             /* the server (a policy or an approver) refused */
	JIT_AP_ERR_SERVER_UNREACHABLE = 5, /* jitsudod could not be reached in time */
	JIT_AP_ERR_TIMEOUT = 6,            /* the agent's own deadline passed */
	JIT_AP_ERR_INTERNAL = 7,           /* anything else; the message says what */
	JIT_AP_ERR_VERSION = 8,            /* HELLO: no common protocol version */
};

/* Returns a static English name for an error code ("bad request", ...); never NULL. */
const char *jit_ap_error_name(uint16_t code);
/* Returns a static name for a message type ("GRANT_ENSURE", ...) or "unknown"; never NULL. */
const char *jit_ap_type_name(uint8_t type);

/* ---- decoded messages ----------------------------------------------------------------------
 * The decoder never copies: every string and field points into the caller's buffer, which must
 * outlive the decoded message. Strings are NOT NUL-terminated; use jit_ap_str_copy. */

struct jit_ap_str {
	const char *ptr; /* NULL when the field is absent */
	uint16_t len;
};

struct jit_ap_field {
	uint16_t tag;
	uint16_t len;
	const uint8_t *value;
};

struct jit_ap_msg {
	uint8_t type;
	uint32_t id;
	uint16_t nfields;
	struct jit_ap_field fields[JIT_AP_MAX_FIELDS];
};

/* One grant of a GRANT_LIST, decoded from a JIT_AP_TAG_GRANT field. */
struct jit_ap_grant {
	struct jit_ap_str request_id;
	struct jit_ap_str state;
	struct jit_ap_str provider;
	struct jit_ap_str role;
	struct jit_ap_str scope; /* ptr NULL if absent */
	bool has_expires_at;
	int64_t expires_at;
};

/* Validates a frame body (without the 4-byte length prefix) of `len` bytes and fills *ret_msg.
 * Checks the type is known, every field is well-formed for its tag, allowed for the type,
 * within its bounds, required fields are present and no byte is left over.
 * Returns 0, JIT_ERR_INVALID (anything malformed), JIT_ERR_TOO_LARGE (len over
 * JIT_AP_MAX_FRAME or too many fields). ret_msg is left unspecified on failure. */
int jit_ap_decode(const uint8_t *body, size_t len, struct jit_ap_msg *ret_msg);

/* Accessors on a decoded message. Each returns 0 and sets ret_* if the first field with `tag`
 * is present, -ENOENT if absent; the decoder already checked kinds and bounds. */
int jit_ap_msg_str(const struct jit_ap_msg *msg, uint16_t tag, struct jit_ap_str *ret_str);
int jit_ap_msg_u8(const struct jit_ap_msg *msg, uint16_t tag, uint8_t *ret_value);
int jit_ap_msg_u16(const struct jit_ap_msg *msg, uint16_t tag, uint16_t *ret_value);
int jit_ap_msg_u32(const struct jit_ap_msg *msg, uint16_t tag, uint32_t *ret_value);
int jit_ap_msg_i64(const struct jit_ap_msg *msg, uint16_t tag, int64_t *ret_value);
/* A flag (U8 tag): true if present and 1, false if absent or 0. */
bool jit_ap_msg_flag(const struct jit_ap_msg *msg, uint16_t tag);

/* Iterates over repeated fields: start with *cursor = 0; each call returns 0 and the next field
 * with `tag` (advancing *cursor), or -ENOENT when there is none left. */
int jit_ap_msg_next(const struct jit_ap_msg *msg, uint16_t tag, size_t *cursor,
                    struct jit_ap_field *ret_field);
/* Views a STR field's value as a string. */
struct jit_ap_str jit_ap_field_str(const struct jit_ap_field *field);
/* Decodes a GRANT field (already validated by jit_ap_decode). Returns 0 or JIT_ERR_INVALID. */
int jit_ap_grant_decode(const struct jit_ap_field *field, struct jit_ap_grant *ret_grant);

/* Copies a string into dst as a NUL-terminated C string. Returns 0, or JIT_ERR_TOO_LARGE if
 * it does not fit in size bytes (dst is then set to "" when size > 0). An absent string
 * copies as "". */
int jit_ap_str_copy(char *dst, size_t size, struct jit_ap_str str);
/* True if str is present and equal to the C string s. */
bool jit_ap_str_eq(struct jit_ap_str str, const char *s);

/* Decoded ERROR: the code and the message copied, NUL-terminated (truncated to fit). Returns 0
 * or JIT_ERR_INVALID if msg is not an ERROR. */
int jit_ap_msg_error(const struct jit_ap_msg *msg, uint16_t *ret_code, char *message,
                     size_t message_size);

/* ---- encoder -------------------------------------------------------------------------------
 * Builds one whole frame (length prefix included) in a caller-provided buffer. Every put checks
 * the value against its tag's kind and bound; the first failure is remembered and reported by
 * jit_ap_writer_finish, so callers may put a sequence of fields and check once. */

struct jit_ap_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint16_t nfields;
	int error; /* first error, sticky */
};

/* Starts a frame of `type` with request id `id` in buf (cap bytes; JIT_AP_MAX_FRAME_TOTAL is
 * always enough). Never fails: a too-small buffer surfaces at finish. */
void jit_ap_writer_init(struct jit_ap_writer *w, uint8_t *buf, size_t cap, uint8_t type,
                        uint32_t id);
/* Puts a string field (s NUL-terminated, or n bytes). Errors: JIT_ERR_INVALID (tag is not a
 * STR tag, embedded NUL, invalid UTF-8), JIT_ERR_TOO_LARGE (over the tag's bound or the
 * buffer). */
void jit_ap_put_str(struct jit_ap_writer *w, uint16_t tag, const char *s);
void jit_ap_put_strn(struct jit_ap_writer *w, uint16_t tag, const char *s, size_t n);
void jit_ap_put_u8(struct jit_ap_writer *w, uint16_t tag, uint8_t value);
void jit_ap_put_u16(struct jit_ap_writer *w, uint16_t tag, uint16_t value);
void jit_ap_put_u32(struct jit_ap_writer *w, uint16_t tag, uint32_t value);
void jit_ap_put_i64(struct jit_ap_writer *w, uint16_t tag, int64_t value);
/* Puts a whole GRANT field; scope may have ptr NULL (absent). */
void jit_ap_put_grant(struct jit_ap_writer *w, const struct jit_ap_grant *grant);
/* Ends the frame: writes the length prefix and checks the result decodes under the message
 * schema (required fields present, counts within bounds). Returns 0 and the frame's total
 * length (prefix included) in *ret_len, or the first error. */
int jit_ap_writer_finish(struct jit_ap_writer *w, size_t *ret_len);

/* Convenience: builds an ERROR frame (message may be NULL; truncated to JIT_AP_MAX_MESSAGE at a
 * UTF-8 boundary). Returns 0 and the length, or a negative error. */
int jit_ap_encode_error(uint8_t *buf, size_t cap, uint32_t id, uint16_t code, const char *message,
                        size_t *ret_len);

/* ---- I/O with a deadline -------------------------------------------------------------------
 * Deadlines are absolute CLOCK_MONOTONIC times in nanoseconds. Each call blocks at most until
 * the deadline (poll), retries EINTR without extending it, sends with MSG_NOSIGNAL, and works
 * on blocking and non-blocking descriptors alike. */

/* Now, and now + ms, on CLOCK_MONOTONIC in nanoseconds. */
uint64_t jit_ap_now_ns(void);
uint64_t jit_ap_deadline_ms(uint32_t ms);

/* Sends len bytes of a frame built by the writer. Returns 0, JIT_ERR_TIMEOUT, or -errno
 * (-EPIPE when the peer closed). */
int jit_ap_send(int fd, const uint8_t *frame, size_t len, uint64_t deadline_ns);

/* Receives one frame and stores its body (without the prefix) in buf (cap >= JIT_AP_MAX_FRAME
 * always suffices). Returns 0 and the body length in *ret_len; -ENODATA if the peer closed
 * cleanly before the first byte of a frame; JIT_ERR_PROTOCOL if it closed inside a frame;
 * JIT_ERR_TOO_LARGE for a length of 0 or over JIT_AP_MAX_FRAME or cap (nothing more is read:
 * the connection must be closed); JIT_ERR_TIMEOUT; or -errno. */
int jit_ap_recv(int fd, uint8_t *buf, size_t cap, size_t *ret_len, uint64_t deadline_ns);

/* The peer's credentials of a connected Unix socket (SO_PEERCRED). Returns 0 or -errno. */
int jit_ap_peer_cred(int fd, pid_t *ret_pid, uid_t *ret_uid, gid_t *ret_gid);

/* ---- client helpers ------------------------------------------------------------------------ */

/* Connects to the Unix socket at path (SOCK_STREAM, SOCK_CLOEXEC) before the deadline. If
 * expect_uid is not (uid_t)-1, refuses (-EPERM) a socket file or a peer not owned by that uid
 * (lstat and SO_PEERCRED). Returns 0 and the connected descriptor (blocking mode) in *ret_fd,
 * JIT_ERR_TIMEOUT, -EPERM or -errno (-ENOENT / -ECONNREFUSED: no agent). */
int jit_ap_connect(const char *path, uid_t expect_uid, uint64_t deadline_ns, int *ret_fd);

/* Client side of the handshake: sends HELLO (JIT_AP_VERSION_MIN..MAX) and reads the answer.
 * Returns 0 and the chosen version, JIT_ERR_DENIED if the agent answered ERROR (version),
 * JIT_ERR_PROTOCOL for any other answer, or an I/O error. */
int jit_ap_client_hello(int fd, uint64_t deadline_ns, uint16_t *ret_version);

/* One request/reply exchange: sends the frame, receives the reply body into buf (cap bytes)
 * and decodes it into *ret_msg. Checks the reply's request id equals `id`. Returns 0 (the
 * reply may be ERROR: the caller looks at ret_msg->type), JIT_ERR_PROTOCOL (undecodable or
 * wrong id), or an I/O error. */
int jit_ap_call(int fd, const uint8_t *frame, size_t frame_len, uint32_t id, uint8_t *buf,
                size_t cap, uint64_t deadline_ns, struct jit_ap_msg *ret_msg);

/* Server side of the handshake: given a decoded first message, picks the version. Returns 0 and
 * the version, JIT_ERR_PROTOCOL if msg is not a client HELLO, or JIT_ERR_DENIED if there is
 * no common version. */
int jit_ap_server_hello(const struct jit_ap_msg *msg, uint16_t *ret_version);

#endif
