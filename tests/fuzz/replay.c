/* Corpus replay: a main() for the fuzz harnesses that runs every file of the given corpus
 * directories (or files) through LLVMFuzzerTestOneInput once, so `make test` exercises the
 * corpus with the normal compiler and `make asan` with sanitizers. Each input is copied into
 * a buffer of exactly its size so out-of-bounds reads are caught. Files over 1 MiB are an
 * error (the corpus is meant to be small). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/common/macro.h"
#include "tests/fuzz/fuzz.h"

#define REPLAY_MAX_FILE (1024 * 1024)
#define REPLAY_MAX_FILES 100000

/* Reads `path` into a new buffer of exactly its size. Returns 0, or a negative errno. */
static int
read_file(const char *path, uint8_t **ret_data, size_t *ret_size)
{
	struct stat st;
	int r = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0) {
		r = -errno;
		goto out;
	}
	if (st.st_size > REPLAY_MAX_FILE) {
		r = -EFBIG;
		goto out;
	}
	size_t size = (size_t)st.st_size;
	/* malloc(0) may return NULL; keep a real (empty) allocation for the harness. */
	uint8_t *data = malloc(size ? size : 1);
	if (!data) {
		r = -ENOMEM;
		goto out;
	}
	if (fread(data, 1, size, f) != size) {
		free(data);
		r = -EIO;
		goto out;
	}
	*ret_data = data;
	*ret_size = size;
out:
	fclose(f);
	return r;
}

static int
replay_file(const char *path)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t size = 0;
	int r = read_file(path, &data, &size);
	if (r < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
		return r;
	}
	LLVMFuzzerTestOneInput(data, size);
	return 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the regular files of `dir` in name order; adds their count to *count. */
static int
replay_dir(const char *dir, size_t *count)
{
	char **names = NULL;
	size_t n = 0, capacity = 0;
	int r = 0;
	DIR *d = opendir(dir);
	if (!d) {
		r = -errno;
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(-r));
		return r;
	}
	struct dirent *entry;
	while ((entry = readdir(d))) {
		if (entry->d_name[0] == '.')
			continue;
		if (n == REPLAY_MAX_FILES) {
			r = -E2BIG;
			break;
		}
		if (n == capacity) {
			capacity = capacity ? capacity * 2 : 64;
			char **p = reallocarray(names, capacity, sizeof(*p));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			names = p;
		}
		if (asprintf(&names[n], "%s/%s", dir, entry->d_name) < 0) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r == 0) {
		/* An empty directory leaves names NULL, which qsort must not be given. */
		if (n > 0)
			qsort(names, n, sizeof(*names), compare_names);
		for (size_t i = 0; i < n && r == 0; i++) {
			struct stat st;
			if (stat(names[i], &st) == 0 && !S_ISREG(st.st_mode))
				continue;
			if ((r = replay_file(names[i])) == 0)
				(*count)++;
		}
	} else {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(-r));
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int r;
		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode))
			r = replay_dir(argv[i], &count);
		else if ((r = replay_file(argv[i])) == 0)
			count++;
		if (r < 0)
			return 1;
	}
	printf("%s: replayed %zu inputs\n", argv[0], count);
	return 0;
}
