/* `jitsudo exec <id> -- CMD...` and `jitsudo shell <id>`: fetch the grant's credentials and
 * run a command (or the user's shell, with a marker and the time left in its prompt) with them
 * added to its environment. A kubeconfig goes to a private 0600 file in a 0700 temporary
 * directory named by KUBECONFIG, removed when the command ends, also when jitsudo is signalled.
 * Credential values only ever reach the child's environment; names are checked against the
 * prefixes jitsudo exports, so a server cannot set PATH or LD_PRELOAD. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/common/errors.h"
#include "lib/common/macro.h"
#include "lib/common/timeutil.h"

#define MAX_CREDENTIALS 64
#define MAX_CREDENTIAL_VALUE (256 * 1024)

/* The environment variable prefixes a credential may use (the agent and PAM module export the
 * same families). */
static const char *const allowed_prefixes[] = {
	"AWS_", "KUBE_", "CLOUDSDK_", "GOOGLE_", "AZURE_", "ARM_", "GCP_",
};

struct env_entry {
	char *name;
	char *value; /* wiped when freed */
};

struct run_state {
	struct env_entry env[MAX_CREDENTIALS + 4];
	size_t env_count;
	char tmpdir[PATH_MAX];
	bool have_tmpdir;
	char files[4][PATH_MAX];
	size_t file_count;
};

static volatile sig_atomic_t child_pid;
static volatile sig_atomic_t got_signal;

static void
wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
run_state_cleanup(struct run_state *s)
{
	for (size_t i = 0; i < s->file_count; i++)
		unlink(s->files[i]);
	s->file_count = 0;
	if (s->have_tmpdir)
		rmdir(s->tmpdir);
	s->have_tmpdir = false;
	for (size_t i = 0; i < s->env_count; i++) {
		free(s->env[i].name);
		wipe_free(s->env[i].value);
	}
	s->env_count = 0;
}

static bool
name_allowed(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > 128 || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	for (size_t i = 0; i < JIT_ARRAY_SIZE(allowed_prefixes); i++)
		if (strncmp(name, allowed_prefixes[i], strlen(allowed_prefixes[i])) == 0)
			return true;
	return false;
}

static int
env_add(struct run_state *s, const char *name, const char *value)
{
	if (s->env_count >= JIT_ARRAY_SIZE(s->env))
		return JIT_ERR_TOO_LARGE;
	struct env_entry *e = &s->env[s->env_count];
	e->name = strdup(name);
	e->value = strdup(value);
	if (!e->name || !e->value) {
		free(e->name);
		wipe_free(e->value);
		return -ENOMEM;
	}
	s->env_count++;
	return 0;
}

/* Returns -errno after a system call failed; a failure that left errno unset is still a failure,
 * so this never returns 0. */
static int
errno_failure(void)
{
	int r = -errno;
	return r < 0 ? r : -EIO;
}

static int
make_tmpdir(struct run_state *s)
{
	const char *base = getenv("TMPDIR");
	if (s->have_tmpdir)
		return 0;
	if (!base || base[0] != '/' || strlen(base) > 200)
		base = "/tmp";
	snprintf(s->tmpdir, sizeof s->tmpdir, "%s/jitsudo-XXXXXX", base);
	if (!mkdtemp(s->tmpdir)) /* mode 0700 */
		return errno_failure();
	s->have_tmpdir = true;
	return 0;
}

/* Writes `text` to a new 0600 file `leaf` in the private directory; *ret_path is its path. */
static int
write_private_file(struct run_state *s, const char *leaf, const char *text, const char **ret_path)
{
	char *path;
	size_t len = strlen(text), done = 0;
	int fd, r;

	if ((r = make_tmpdir(s)) < 0 || s->file_count >= JIT_ARRAY_SIZE(s->files))
		return r < 0 ? r : JIT_ERR_TOO_LARGE;
	path = s->files[s->file_count];
	int n = snprintf(path, PATH_MAX, "%.1024s/%.64s", s->tmpdir, leaf);
	if (n < 0 || n >= PATH_MAX)
		return JIT_ERR_TOO_LARGE;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return errno_failure();
	s->file_count++;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = errno_failure();
			close(fd);
			return r;
		}
		done += (size_t)w;
	}
	if (close(fd) < 0)
		return errno_failure();
	*ret_path = path;
	return 0;
}

/* Fetches the grant and fills the environment (and the kubeconfig file). */
static int
load_grant(struct jit_cli *cli, const char *id, struct run_state *s, int64_t *ret_expires_ns)
{
	char path[256];
	json_t *answer = NULL;
	const char *kube_path;
	int64_t expires_ns = 0;
	size_t i;
	json_t *c;
	int r;

	snprintf(path, sizeof path, "/api/v1alpha1/requests/%s/credentials", id);
	if ((r = jit_cli_api(cli, "GET", path, NULL, true, &answer)) < 0)
		return r;
	json_t *grant = json_object_get(answer, "grant");
	json_t *credentials = json_object_get(grant, "credentials");
	if (!json_is_array(credentials) || json_array_size(credentials) > MAX_CREDENTIALS) {
		r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's answer has no usable credentials");
		goto out;
	}
	json_array_foreach(credentials, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *value = json_string_value(json_object_get(c, "value"));
		if (!name || !value || strlen(value) > MAX_CREDENTIAL_VALUE) {
			r = jit_cli_fail(JIT_ERR_PROTOCOL,
			                 "the server sent a malformed credential");
			goto out;
		}
		if (strcmp(name, "KUBECONFIG_DATA") == 0) {
			if ((r = write_private_file(s, "kubeconfig", value, &kube_path)) < 0) {
				jit_cli_fail(JIT_ERR_INTERNAL, "cannot write the kubeconfig: %s",
				             jit_strerror(r));
				r = JIT_ERR_INTERNAL;
				goto out;
			}
			r = env_add(s, "KUBECONFIG", kube_path);
		} else if (name_allowed(name)) {
			r = env_add(s, name, value);
		} else {
			char shown[140];
			jit_cli_sanitize(name, shown, sizeof shown);
			r = jit_cli_fail(
			        JIT_ERR_PROTOCOL,
			        "the server sent a credential named \"%s\", which jitsudo does "
			        "not put into an environment",
			        shown);
			goto out;
		}
		if (r < 0) {
			r = jit_cli_fail(r, "out of memory");
			goto out;
		}
	}
	const char *expires = jit_cli_str(grant, "expires_at");
	if (jit_rfc3339_parse(expires, &expires_ns) < 0) {
		r = jit_cli_fail(JIT_ERR_PROTOCOL, "the server's grant has no expiry");
		goto out;
	}
	if ((r = env_add(s, "JITSUDO_REQUEST_ID", id)) < 0 ||
	    (r = env_add(s, "JITSUDO_EXPIRES_AT", expires)) < 0) {
		r = jit_cli_fail(r, "out of memory");
		goto out;
	}
	*ret_expires_ns = expires_ns;
	r = 0;
out:
	json_decref(answer);
	return r;
}

/* Forwards a signal someone sent to jitsudo (kill, not the terminal: the terminal's signals
 * reach the child already, as it shares our process group). */
static void
on_signal(int sig, siginfo_t *info, void *context)
{
	(void)context;
	got_signal = sig;
	if (child_pid > 0 && info && info->si_code <= 0)
		kill((pid_t)child_pid, sig);
}

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void
signals_install(struct sigaction *saved)
{
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < JIT_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &sa, &saved[i]);
}

static void
signals_restore(const struct sigaction *saved)
{
	for (size_t i = 0; i < JIT_ARRAY_SIZE(forwarded); i++)
		sigaction(forwarded[i], &saved[i], NULL);
}

/* Runs argv with the environment added; returns its exit status (128+signal when killed),
 * 127 when it cannot be found and 126 when it cannot be executed, as a shell does. */
static int
run_child(struct run_state *s, char *const *argv, const char *const *extra_env)
{
	struct sigaction saved[JIT_ARRAY_SIZE(forwarded)];
	int pipefd[2], status = 0, child_errno = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return jit_cli_fail(-errno, "pipe: %s", strerror(errno));
	/* The signals stay blocked until the child's pid is known, so none is lost between the
	 * fork and the assignment; the child unblocks them once their dispositions are reset. */
	sigset_t block, old;
	sigemptyset(&block);
	for (size_t i = 0; i < JIT_ARRAY_SIZE(forwarded); i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &old);
	signals_install(saved);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pipefd[0]);
		close(pipefd[1]);
		signals_restore(saved);
		sigprocmask(SIG_SETMASK, &old, NULL);
		return jit_cli_fail(-e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		struct sigaction dfl = { 0 };
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		for (size_t i = 0; i < JIT_ARRAY_SIZE(forwarded); i++)
			sigaction(forwarded[i], &dfl, NULL);
		sigaction(SIGPIPE, &dfl, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(pipefd[0]);
		/* jitsudo's own token is not the command's business. */
		unsetenv("JITSUDO_TOKEN");
		int e = 0;
		for (size_t i = 0; i < s->env_count && !e; i++)
			if (setenv(s->env[i].name, s->env[i].value, 1) < 0)
				e = errno;
		for (size_t i = 0; extra_env && extra_env[i] && !e; i += 2)
			if (setenv(extra_env[i], extra_env[i + 1], 1) < 0)
				e = errno;
		if (!e) {
			execvp(argv[0], argv);
			e = errno;
		}
		while (write(pipefd[1], &e, sizeof e) < 0 && errno == EINTR)
			;
		_exit(127);
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(pipefd[1]);
	ssize_t n;
	while ((n = read(pipefd[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = 0;
			break;
		}
	}
	child_pid = 0;
	signals_restore(saved);
	if (n == (ssize_t)sizeof child_errno) {
		char shown[200];
		jit_cli_sanitize(argv[0], shown, sizeof shown);
		fprintf(stderr, "jitsudo: %s: %s\n", shown, strerror(child_errno));
		return child_errno == ENOENT ? 127 : 126;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static int
run_exec(struct jit_cli *cli, const struct jit_cli_args *args)
{
	struct run_state s = { .env_count = 0 };
	const char *id = args->positional[0];
	int64_t expires_ns;
	int r;

	if (!args->dashdash || args->rest_count == 0)
		return jit_cli_usage(cli, "missing the command to run after --");
	if ((r = jit_cli_check_id(cli, id, "request ID")) < 0)
		return r;
	if ((r = load_grant(cli, id, &s, &expires_ns)) >= 0)
		r = run_child(&s, args->rest, NULL);
	run_state_cleanup(&s);
	return r;
}

/* ---- shell ---------------------------------------------------------------------------- */

/* The time left, refreshed before every prompt; the marker is "[jitsudo <id> <left>]". The
 * one printf argument is the grant's expiry in Unix seconds. */
#define PROMPT_FUNCTION                                                                        \
	"__jitsudo_prompt() {\n"                                                               \
	"  local s=$(( %lld - $(date +%%s) ))\n"                                               \
	"  if (( s <= 0 )); then __jitsudo_left=expired\n"                                     \
	"  elif (( s >= 3600 )); then __jitsudo_left=\"$((s / 3600))h$((s %% 3600 / 60))m\"\n" \
	"  else __jitsudo_left=\"$((s / 60))m$((s %% 60))s\"; fi\n"                            \
	"}\n"                                                                                  \
	"__jitsudo_prompt\n"

static const char bash_rc[] =
        "# written by jitsudo shell; removed when the shell ends\n"
        "if [ -f \"$HOME/.bashrc\" ]; then . \"$HOME/.bashrc\"; fi\n" PROMPT_FUNCTION
        "PROMPT_COMMAND=\"__jitsudo_prompt${PROMPT_COMMAND:+; $PROMPT_COMMAND}\"\n"
        "PS1=\"[jitsudo $JITSUDO_REQUEST_ID \\${__jitsudo_left}] ${PS1:-\\\\s-\\\\v\\\\$ }\"\n";

static const char zsh_env[] = "# written by jitsudo shell; removed when the shell ends\n"
                              "if [ -f \"${JITSUDO_USER_ZDOTDIR:-$HOME}/.zshenv\" ]; then\n"
                              "  . \"${JITSUDO_USER_ZDOTDIR:-$HOME}/.zshenv\"\n"
                              "fi\n";

static const char zsh_rc[] =
        "# written by jitsudo shell; removed when the shell ends\n"
        "__jitsudo_dir=$ZDOTDIR\n"
        "ZDOTDIR=${JITSUDO_USER_ZDOTDIR:-$HOME}\n"
        "unset JITSUDO_USER_ZDOTDIR\n"
        "if [ -f \"$ZDOTDIR/.zshrc\" ]; then . \"$ZDOTDIR/.zshrc\"; fi\n" PROMPT_FUNCTION
        "setopt prompt_subst\n"
        "typeset -ga precmd_functions\n"
        "precmd_functions+=(__jitsudo_prompt)\n"
        "PROMPT=\"[jitsudo $JITSUDO_REQUEST_ID \\${__jitsudo_left}] ${PROMPT:-%%m%%# }\"\n";

static const char *
shell_base(const char *shell)
{
	const char *slash = strrchr(shell, '/');
	return slash ? slash + 1 : shell;
}

static int
run_shell(struct jit_cli *cli, const struct jit_cli_args *args)
{
	struct run_state s = { .env_count = 0 };
	const char *id = args->positional[0];
	const char *shell = getenv("SHELL");
	const char *extra[8] = { NULL };
	char *argv[4] = { NULL };
	char text[4096], ps1[512];
	const char *rc_path;
	int64_t expires_ns;
	size_t e = 0;
	int r;

	if ((r = jit_cli_check_id(cli, id, "request ID")) < 0)
		return r;
	if (!shell || shell[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		shell = pw && pw->pw_shell && pw->pw_shell[0] == '/' ? pw->pw_shell : "/bin/sh";
	}
	if ((r = load_grant(cli, id, &s, &expires_ns)) < 0)
		goto out;
	long long expires_s = (long long)(expires_ns / JIT_NSEC_PER_SEC);
	argv[0] = (char *)shell;
	if (strcmp(shell_base(shell), "bash") == 0) {
		snprintf(text, sizeof text, bash_rc, expires_s);
		if ((r = write_private_file(&s, "bashrc", text, &rc_path)) < 0)
			goto file_error;
		argv[1] = (char *)"--rcfile";
		argv[2] = (char *)rc_path;
	} else if (strcmp(shell_base(shell), "zsh") == 0) {
		const char *zdotdir = getenv("ZDOTDIR");
		snprintf(text, sizeof text, zsh_rc, expires_s);
		if ((r = write_private_file(&s, ".zshenv", zsh_env, &rc_path)) < 0 ||
		    (r = write_private_file(&s, ".zshrc", text, &rc_path)) < 0)
			goto file_error;
		extra[e++] = "ZDOTDIR";
		extra[e++] = s.tmpdir;
		extra[e++] = "JITSUDO_USER_ZDOTDIR";
		extra[e++] =
		        zdotdir && zdotdir[0] ? zdotdir : (getenv("HOME") ? getenv("HOME") : "/");
	} else {
		/* Other shells: a fixed marker (with the expiry time) in PS1. */
		const char *old = getenv("PS1");
		snprintf(ps1, sizeof ps1, "[jitsudo %s until %s] %s", id,
		         s.env[s.env_count - 1].value, old && strlen(old) < 256 ? old : "$ ");
		extra[e++] = "PS1";
		extra[e++] = ps1;
	}
	if (!cli->quiet && isatty(STDERR_FILENO)) {
		char left[32];
		jit_cli_format_left((expires_ns - jit_now_realtime_ns()) / JIT_NSEC_PER_SEC, left,
		                    sizeof left);
		fprintf(stderr,
		        "jitsudo: shell with the credentials of %s (%s left); exit to end\n", id,
		        left);
	}
	r = run_child(&s, argv, extra);
	goto out;
file_error:
	r = jit_cli_fail(JIT_ERR_INTERNAL, "cannot write the shell's startup file: %s",
	                 jit_strerror(r));
out:
	run_state_cleanup(&s);
	return r;
}

const struct jit_cli_command jit_cli_cmd_exec = {
	.name = "exec",
	.summary = "Run a command with a request's credentials",
	.usage = "exec <request-id> -- <command> [args...]",
	.description =
	        "Fetches the credentials of an APPROVED or ACTIVE request (yours) and runs the\n"
	        "command with them added to its environment: AWS_*, CLOUDSDK_*, AZURE_*, KUBE_*\n"
	        "variables as the provider issued them; a kubeconfig is written to a private\n"
	        "0600 temporary file named by KUBECONFIG and removed when the command ends (also\n"
	        "when jitsudo is interrupted or terminated). JITSUDO_REQUEST_ID and\n"
	        "JITSUDO_EXPIRES_AT are set too; JITSUDO_TOKEN is removed. The command's exit\n"
	        "status is jitsudo's (128+N when it was killed by signal N; 127 when it cannot be\n"
	        "found, 126 when it cannot be run). The credentials are never printed.",
	.examples =
	        "  jitsudo exec req_01J8KZ4F2EMNQZ3V7XKQYBD4W -- aws sts get-caller-identity\n"
	        "  jitsudo exec req_01J8KZ4F2EMNQZ3V7XKQYBD4W -- kubectl get pods -n kube-system\n",
	.options = jit_cli_no_options,
	.positional_name = "<request-id>",
	.min_positional = 1,
	.max_positional = 1,
	.takes_command = true,
	.run = run_exec,
};

const struct jit_cli_command jit_cli_cmd_shell = {
	.name = "shell",
	.summary = "Start your shell with a request's credentials",
	.usage = "shell <request-id>",
	.description =
	        "Starts $SHELL (or your login shell) with the same environment as `jitsudo exec`.\n"
	        "In bash and zsh the prompt starts with \"[jitsudo <request-id> <time left>]\",\n"
	        "refreshed at every prompt, after your own startup files have run; other shells\n"
	        "get a fixed marker with the expiry time in PS1. Leave the shell to drop the\n"
	        "credentials (the kubeconfig file is removed then). The shell's exit status is\n"
	        "jitsudo's.",
	.examples = "  jitsudo shell req_01J8KZ4F2EMNQZ3V7XKQYBD4W\n",
	.options = jit_cli_no_options,
	.positional_name = "<request-id>",
	.min_positional = 1,
	.max_positional = 1,
	.run = run_shell,
};
