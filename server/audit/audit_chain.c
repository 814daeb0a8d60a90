/* The audit chain's key, the checkpoint signing key and the checkpoint file (audit_chain.h).
 * Trusts the key files only once their owner-only mode is checked; trusts nothing read from
 * the checkpoint file until its signature is checked. Never logs and
 * never puts key bytes in a message. */
#include "server/audit/audit_chain.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "lib/common/base64url.h"
#include "lib/common/errors.h"
#include "lib/common/timeutil.h"
#include "server/auth/jose.h"

#define KEY_FILE_MAX (16 * 1024)
#define ED25519_SIGNATURE_SIZE 64
#define KEY_ID_LABEL "jitsudo audit key id"

/* ---- key files ------------------------------------------------------------------------ */

/* Reads a key file into `buf`, refusing anything but a regular file only its owner can reach
 * (a symlink is refused too, as the seal key's is). */
static int
read_private_file(const char *path, const char *what, unsigned char *buf, size_t size,
                  size_t *ret_len, char *error, size_t error_size)
{
	/* O_NONBLOCK: a FIFO in its place must not hang us before fstat refuses it. */
	_cleanup_close_ int fd =
	        open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	struct stat st;
	size_t len = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;
		jit_set_error(error, error_size, "%s %s: %s", what, path, strerror(errno));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		jit_set_error(error, error_size, "%s %s: not a regular file", what, path);
		return JIT_ERR_INVALID;
	}
	if (st.st_mode & 077) {
		jit_set_error(error, error_size,
		              "%s %s: readable by group or others (mode %03o; chmod 600 it)", what,
		              path, (unsigned)(st.st_mode & 0777));
		return JIT_ERR_DENIED;
	}
	for (;;) {
		if (len == size) {
			jit_set_error(error, error_size, "%s %s: larger than %zu bytes", what, path,
			              size - 1);
			return JIT_ERR_TOO_LARGE;
		}
		ssize_t n = read(fd, buf + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			jit_set_error(error, error_size, "%s %s: %s", what, path, strerror(errno));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}

/* Writes all of `data` to a new file `path` (0600, never an existing one), synced. */
static int
write_new_private_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r = 0;
	if (fd < 0)
		return -errno;
	/* The umask cannot widen the mode, but a default ACL could: set it outright. */
	if (fchmod(fd, 0600) < 0)
		r = -errno;
	for (size_t done = 0; r == 0 && done < len;) {
		ssize_t n = write(fd, (const char *)data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else
			done += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

int
jit_audit_key_load(const char *path, struct jit_secret **ret_key, char *error, size_t error_size)
{
	unsigned char key[JIT_AUDIT_CHAIN_KEY_SIZE + 1];
	size_t len = 0;
	int r = read_private_file(path, "audit key", key, sizeof(key), &len, error, error_size);
	if (r == JIT_ERR_TOO_LARGE || (r == 0 && len != JIT_AUDIT_CHAIN_KEY_SIZE)) {
		jit_set_error(error, error_size, "audit key %s: must hold exactly %d bytes", path,
		              JIT_AUDIT_CHAIN_KEY_SIZE);
		r = JIT_ERR_INVALID;
	}
	if (r == 0 && (r = jit_secret_new(key, len, ret_key)) < 0)
		jit_set_error(error, error_size, "audit key %s: %s", path, jit_strerror(r));
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

/* ---- the process's chain key ---------------------------------------------------------- */

/* Set once before the server's threads start, read by all of them afterwards. */
static struct jit_secret *process_key;

int
jit_audit_chain_set_key(const struct jit_secret *key)
{
	struct jit_secret *copy = NULL;
	if (!key || key->length != JIT_AUDIT_CHAIN_KEY_SIZE)
		return JIT_ERR_INVALID;
	int r = jit_secret_copy(key, &copy);
	if (r < 0)
		return r;
	jit_secret_free(process_key);
	process_key = copy;
	return 0;
}

const struct jit_secret *
jit_audit_chain_key(void)
{
	return process_key;
}

void
jit_audit_chain_clear_key(void)
{
	jit_secret_free(process_key);
	process_key = NULL;
}

int
jit_audit_key_id(const struct jit_secret *key, char out[JIT_AUDIT_KEY_ID_SIZE])
{
	/* HMAC-SHA256 over a fixed label: a chain input starts with a hash or with the '{' of
	 * an event's canonical text, never with this. */
	if (!key)
		return JIT_ERR_INVALID;
	unsigned char mac[32];
	size_t mac_len = 0;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->bytes, key->length,
	               (const unsigned char *)KEY_ID_LABEL, strlen(KEY_ID_LABEL), mac, sizeof(mac),
	               &mac_len) ||
	    mac_len != sizeof(mac))
		return JIT_ERR_INTERNAL;
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < (JIT_AUDIT_KEY_ID_SIZE - 1) / 2; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[JIT_AUDIT_KEY_ID_SIZE - 1] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* ---- the checkpoint key --------------------------------------------------------------- */

struct jit_checkpoint_key {
	EVP_PKEY *pkey; /* Ed25519, private (it verifies too) */
};

static void
bio_freep(BIO **p)
{
	BIO_free(*p);
}

static void
md_ctx_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

int
jit_checkpoint_key_generate(const char *path)
{
	if (!path || !*path)
		return JIT_ERR_INVALID;
	_cleanup_(jit_evp_pkey_freep) EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!pkey)
		return JIT_ERR_INTERNAL;
	/* Secure-heap memory, wiped when freed. */
	_cleanup_(bio_freep) BIO *mem = BIO_new(BIO_s_secmem());
	if (!mem)
		return -ENOMEM;
	/* No cipher: an unencrypted PKCS#8 "PRIVATE KEY"; the file mode protects it. */
	if (PEM_write_bio_PrivateKey(mem, pkey, NULL, NULL, 0, NULL, NULL) != 1)
		return JIT_ERR_INTERNAL;
	char *data = NULL;
	long len = BIO_get_mem_data(mem, &data);
	if (len <= 0 || !data)
		return JIT_ERR_INTERNAL;
	return write_new_private_file(path, data, (size_t)len);
}

/* Never prompts for a passphrase: an encrypted key simply fails to load. */
static int
no_passphrase(char *buf, int size, int rwflag, void *userdata)
{
	return -1;
}

int
jit_checkpoint_key_load(const char *path, struct jit_checkpoint_key **ret_key, char *error,
                        size_t error_size)
{
	unsigned char buf[KEY_FILE_MAX];
	size_t len = 0;
	int r = read_private_file(path, "checkpoint key", buf, sizeof(buf), &len, error,
	                          error_size);
	if (r < 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return r;
	}
	BIO *mem = BIO_new_mem_buf(buf, (int)len);
	EVP_PKEY *pkey = mem ? PEM_read_bio_PrivateKey(mem, NULL, no_passphrase, NULL) : NULL;
	BIO_free(mem);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!pkey || EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(pkey);
		jit_set_error(error, error_size,
		              "checkpoint key %s: not an unencrypted Ed25519 private key (PEM)",
		              path);
		return JIT_ERR_INVALID;
	}
	struct jit_checkpoint_key *key = calloc(1, sizeof(*key));
	if (!key) {
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	key->pkey = pkey;
	*ret_key = key;
	return 0;
}

void
jit_checkpoint_key_free(struct jit_checkpoint_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* ---- checkpoint lines ----------------------------------------------------------------- */

void
jit_checkpoint_time_text(const struct jit_checkpoint *cp, char *buf, size_t size)
{
	char text[JIT_RFC3339_MAX];
	if (jit_rfc3339_format(cp->time_ns, false, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "?");
	snprintf(buf, size, "%s", text);
}

static bool
is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The signed part of a line: everything before " sig=". */
static int
signed_text(const struct jit_checkpoint *cp, char *buf, size_t size, size_t *ret_len)
{
	char time_text[JIT_RFC3339_MAX];
	if (cp->count < 0 || cp->last_id < 0 || !is_hex64(cp->head, strlen(cp->head)) ||
	    jit_rfc3339_format(cp->time_ns, false, time_text, sizeof(time_text)) < 0)
		return JIT_ERR_INVALID;
	int n = snprintf(buf, size,
	                 JIT_CHECKPOINT_PREFIX "count=%" PRId64 " last_id=%" PRId64
	                                       " head=%s time=%s",
	                 cp->count, cp->last_id, cp->head, time_text);
	if (n < 0 || (size_t)n >= size)
		return JIT_ERR_TOO_LARGE;
	*ret_len = (size_t)n;
	return 0;
}

int
jit_checkpoint_format(const struct jit_checkpoint_key *key, const struct jit_checkpoint *cp,
                      char *line, size_t size)
{
	_cleanup_(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[ED25519_SIGNATURE_SIZE];
	size_t sig_len = sizeof(sig), len = 0;
	char sig_text[ED25519_SIGNATURE_SIZE * 2];
	int r;
	if (!md)
		return -ENOMEM;
	if ((r = signed_text(cp, line, size, &len)) < 0)
		return r;
	if (EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)line, len) != 1 ||
	    sig_len != sizeof(sig))
		return JIT_ERR_INTERNAL;
	if ((r = jit_base64url_encode(sig, sig_len, sig_text, sizeof(sig_text))) < 0)
		return r;
	int n = snprintf(line + len, size - len, " sig=%s", sig_text);
	if (n < 0 || (size_t)n >= size - len)
		return JIT_ERR_TOO_LARGE;
	return 0;
}

/* Reads "name=<value>" at *p up to the next space (or the end): the value's start and length. */
static bool
take_field(const char **p, const char *end, const char *name, const char **ret_value,
           size_t *ret_len)
{
	size_t name_len = strlen(name);
	if ((size_t)(end - *p) < name_len + 1 || memcmp(*p, name, name_len) != 0 ||
	    (*p)[name_len] != '=')
		return false;
	const char *value = *p + name_len + 1;
	const char *stop = memchr(value, ' ', (size_t)(end - value));
	if (!stop)
		stop = end;
	*ret_value = value;
	*ret_len = (size_t)(stop - value);
	*p = stop < end ? stop + 1 : end;
	return true;
}

/* A decimal count without sign, leading zeros or overflow. */
static bool
parse_count(const char *s, size_t len, int64_t *ret)
{
	int64_t v = 0;
	if (len == 0 || len > 18 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

int
jit_checkpoint_parse(const struct jit_checkpoint_key *key, const char *line, size_t length,
                     struct jit_checkpoint *ret_cp)
{
	struct jit_checkpoint cp = { 0 };
	const char *end = line + length, *p = line, *value = NULL, *sig_start = NULL;
	size_t len = 0, prefix_len = strlen(JIT_CHECKPOINT_PREFIX);
	char time_text[JIT_RFC3339_MAX];
	if (length >= JIT_CHECKPOINT_LINE_MAX || length < prefix_len ||
	    memcmp(line, JIT_CHECKPOINT_PREFIX, prefix_len) != 0 || memchr(line, '\0', length))
		return JIT_ERR_INVALID;
	p += prefix_len;
	if (!take_field(&p, end, "count", &value, &len) || !parse_count(value, len, &cp.count) ||
	    !take_field(&p, end, "last_id", &value, &len) ||
	    !parse_count(value, len, &cp.last_id) || !take_field(&p, end, "head", &value, &len) ||
	    !is_hex64(value, len))
		return JIT_ERR_INVALID;
	memcpy(cp.head, value, len);
	cp.head[len] = '\0';
	if (!take_field(&p, end, "time", &value, &len) || len >= sizeof(time_text))
		return JIT_ERR_INVALID;
	memcpy(time_text, value, len);
	time_text[len] = '\0';
	if (jit_rfc3339_parse(time_text, &cp.time_ns) < 0)
		return JIT_ERR_INVALID;
	sig_start = p - 1;
	if (!take_field(&p, end, "sig", &value, &len) || p != end || value + len != end)
		return JIT_ERR_INVALID;
	/* The signed text must be exactly what this program writes for these values (one
	 * spelling per checkpoint). */
	char expected[JIT_CHECKPOINT_LINE_MAX];
	size_t expected_len = 0;
	if (signed_text(&cp, expected, sizeof(expected), &expected_len) < 0 ||
	    expected_len != (size_t)(sig_start - line) || memcmp(expected, line, expected_len) != 0)
		return JIT_ERR_INVALID;
	uint8_t sig[ED25519_SIGNATURE_SIZE + 1];
	size_t sig_len = 0;
	if (jit_base64url_decode(value, len, sig, sizeof(sig), &sig_len) < 0 ||
	    sig_len != ED25519_SIGNATURE_SIZE)
		return JIT_ERR_INVALID;
	_cleanup_(md_ctx_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) != 1)
		return JIT_ERR_INTERNAL;
	if (EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)line, expected_len) != 1)
		return JIT_ERR_DENIED;
	*ret_cp = cp;
	return 0;
}

/* ---- the checkpoint file -------------------------------------------------------------- */

struct jit_checkpoint_log {
	int fd;
	const struct jit_checkpoint_key *key;
};

/* Cuts an unfinished last line (a crash between write and sync) back to the last newline,
 * looking back at most one buffer: a longer tail without a newline is no line of ours and is
 * ended with a newline instead, so that verify reports it. */
static int
trim_partial_line(int fd)
{
	struct stat st;
	char buf[2 * JIT_CHECKPOINT_READ_MAX] = "";
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	off_t start = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
	size_t want = (size_t)(st.st_size - start);
	ssize_t n = pread(fd, buf, want, start);
	if (n < 0)
		return -errno;
	if ((size_t)n != want)
		return -EIO;
	if (buf[want - 1] == '\n')
		return 0;
	const char *newline = memrchr(buf, '\n', want);
	if (!newline && start > 0)
		return write(fd, "\n", 1) == 1 ? 0 : -errno;
	off_t keep = newline ? start + (newline - buf) + 1 : 0;
	if (ftruncate(fd, keep) < 0)
		return -errno;
	return 0;
}

/* Syncs the directory holding `path`, so that a newly created file survives a crash. */
static int
sync_parent(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int
jit_checkpoint_log_open(const char *path, const struct jit_checkpoint_key *key,
                        struct jit_checkpoint_log **ret_log, char *error, size_t error_size)
{
	struct stat st;
	bool existed = lstat(path, &st) == 0;
	_cleanup_close_ int fd =
	        open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
	int r;
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		jit_set_error(error, error_size, "checkpoint file %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		jit_set_error(error, error_size, "checkpoint file %s: not a regular file", path);
		return JIT_ERR_INVALID;
	}
	if ((r = trim_partial_line(fd)) < 0 || (!existed && (r = sync_parent(path)) < 0)) {
		jit_set_error(error, error_size, "checkpoint file %s: %s", path, strerror(-r));
		return r;
	}
	struct jit_checkpoint_log *log = calloc(1, sizeof(*log));
	if (!log)
		return -ENOMEM;
	log->fd = TAKE_FD(fd);
	log->key = key;
	*ret_log = log;
	return 0;
}

int
jit_checkpoint_log_append(struct jit_checkpoint_log *log, const struct jit_checkpoint *cp,
                          char *line, size_t line_size)
{
	char text[JIT_CHECKPOINT_LINE_MAX + 1];
	int r = jit_checkpoint_format(log->key, cp, text, sizeof(text) - 1);
	if (r < 0)
		return r;
	size_t len = strlen(text);
	text[len] = '\n';
	/* One write: O_APPEND puts the whole line at the end even if another process appends. */
	ssize_t n;
	do
		n = write(log->fd, text, len + 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != len + 1)
		return -EIO;
	if (fdatasync(log->fd) < 0)
		return -errno;
	text[len] = '\0';
	snprintf(line, line_size, "%s", text);
	return 0;
}

void
jit_checkpoint_log_free(struct jit_checkpoint_log *log)
{
	if (!log)
		return;
	close(log->fd);
	free(log);
}

int
jit_checkpoint_read_last(const char *path, const struct jit_checkpoint_key *key,
                         struct jit_checkpoint *ret_cp, char *error, size_t error_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	char buf[2 * JIT_CHECKPOINT_READ_MAX] = "";
	struct stat st;
	int r;
	if (fd < 0 && errno == ENOENT)
		return JIT_ERR_NOT_FOUND;
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		jit_set_error(error, error_size, "checkpoint file %s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		jit_set_error(error, error_size, "checkpoint file %s: not a regular file", path);
		return JIT_ERR_INVALID;
	}
	off_t start = st.st_size > (off_t)sizeof(buf) ? st.st_size - (off_t)sizeof(buf) : 0;
	size_t want = (size_t)(st.st_size - start);
	ssize_t n = want ? pread(fd, buf, want, start) : 0;
	if (n < 0 || (size_t)n != want) {
		r = n < 0 ? -errno : -EIO;
		jit_set_error(error, error_size, "checkpoint file %s: %s", path, strerror(-r));
		return r;
	}
	/* The last complete line: an unfinished one after it (a crash) does not count. */
	const char *end = memrchr(buf, '\n', want);
	if (!end)
		return JIT_ERR_NOT_FOUND;
	const char *begin = memrchr(buf, '\n', (size_t)(end - buf));
	begin = begin ? begin + 1 : buf;
	if (begin == buf && start > 0) {
		jit_set_error(error, error_size,
		              "checkpoint file %s: its last line is not a checkpoint", path);
		return JIT_ERR_INVALID;
	}
	r = jit_checkpoint_parse(key, begin, (size_t)(end - begin), ret_cp);
	if (r == JIT_ERR_DENIED)
		jit_set_error(error, error_size,
		              "checkpoint file %s: the signature of its last line does not verify "
		              "with the checkpoint key: the file was altered",
		              path);
	else if (r < 0)
		jit_set_error(error, error_size,
		              "checkpoint file %s: its last line is not a checkpoint", path);
	return r;
}
