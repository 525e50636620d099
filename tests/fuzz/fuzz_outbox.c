/* libFuzzer target: outbox replay. The bytes are an outbox.log as a crash,
 * a full disk or a bit flip could leave it: replayed from memory, then
 * written into a scratch state dir and opened for real. Both must accept
 * or refuse alike and report the same, since outbox_replay_memory()
 * promises to replay "as outbox_open would". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/notifier/outbox.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];     /* mkdtemp'd once per process */
static char state[128];   /* root/state: the outbox dir, recreated by outbox_open */

static void die(const char *what)
{
	perror(what);
	abort(); /* the harness is broken, not the code under test */
}

/* Empties the state dir (log, compaction leftovers, lock file). */
static void clean_state(void)
{
	DIR *d = opendir(state);
	struct dirent *e;

	if (!d) {
		if (errno == ENOENT)
			return;
		die("opendir");
	}
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			die("unlinkat");
	}
	closedir(d);
}

static void cleanup(void)
{
	clean_state();
	rmdir(state);
	rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	/* fdatasync per input: prefer RAM when there is no TMPDIR. */
	if (!tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	if (snprintf(root, sizeof(root), "%s/fuzz_outbox.XXXXXX", tmp) >= (int)sizeof(root))
		die("TMPDIR too long");
	if (!mkdtemp(root))
		die("mkdtemp");
	snprintf(state, sizeof(state), "%s/state", root);
	atexit(cleanup);
	return 0;
}

static void write_log(const uint8_t *data, size_t size)
{
	char path[192];
	int fd;

	if (mkdir(state, 0700) < 0 && errno != EEXIST)
		die("mkdir");
	snprintf(path, sizeof(path), "%s/outbox.log", state);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("open");
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		data += n;
		size -= (size_t)n;
	}
	if (close(fd) < 0)
		die("close");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outbox_open_report mem = { 0 }, file = { 0 };
	size_t valid_len = 0;
	struct outbox *ob;
	char err[512];
	int rc;

	rc = outbox_replay_memory(data, size, &mem, &valid_len);
	if (rc == -ENOMEM)
		return 0; /* not a finding: libFuzzer's rss limit reports real leaks */
	if (rc == 0 && valid_len > size)
		abort();

	clean_state();
	write_log(data, size);
	memset(err, 0, sizeof(err));
	ob = outbox_open(state, &file, err, sizeof(err));
	if (!ob) {
		if (err[0] == '\0')
			abort(); /* every refusal must say why */
		if (rc == 0)
			abort(); /* memory replay accepted what open refused */
		return 0;
	}
	if (rc != 0)
		abort(); /* open accepted what memory replay refused */
	if (file.pending != mem.pending || file.failed != mem.failed ||
	    file.torn_tail != mem.torn_tail || file.corrupt_records != mem.corrupt_records)
		abort();
	if (outbox_count(ob, OUTBOX_PENDING) != file.pending ||
	    outbox_count(ob, OUTBOX_FAILED) != file.failed)
		abort();
	outbox_close(ob);
	return 0;
}
