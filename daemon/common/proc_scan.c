/* See proc_scan.h. */
#include "daemon/common/proc_scan.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool proc_read_comm(uint32_t pid, char comm[PROC_COMM_LEN])
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, PROC_COMM_LEN - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	return true;
}

static bool parse_pid(const char *name, uint32_t *pid)
{
	unsigned long v = 0;

	if (!*name)
		return false;
	for (const char *c = name; *c; c++) {
		if (!isdigit((unsigned char)*c))
			return false;
		v = v * 10 + (unsigned long)(*c - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*pid = (uint32_t)v;
	return v > 0;
}

void proc_for_each(proc_visit_fn visit, void *ctx)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	if (!proc)
		return;
	while ((de = readdir(proc)) != NULL) {
		char comm[PROC_COMM_LEN];
		uint32_t pid;

		if (!parse_pid(de->d_name, &pid) || !proc_read_comm(pid, comm))
			continue;
		if (!visit(pid, comm, ctx))
			break;
	}
	closedir(proc);
}
