/* reaper - minimal child subreaper for the test libvirtd.
 *
 * PID 1 on the test machines is not systemd and reaps orphans only every ~2 s,
 * so daemonized libvirtd/virtlogd/qemu would linger as zombies that kill(pid, 0)
 * still reports alive, and libvirt (which waits for qemu to vanish) would report
 * a killed guest ~2 s late.  Runs argv[1..] and reaps every process orphaned
 * below it; exits when none is left (stop.sh relies on that).  Each reap is
 * logged with a CLOCK_REALTIME stamp on stderr.
 * usage: reaper CMD [ARGS...]        (start.sh compiles it into $BASE) */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: reaper cmd [args...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        perror("reaper: prctl(PR_SET_CHILD_SUBREAPER)");
        return 1;
    }
    pid_t c = fork();
    if (c < 0) {
        perror("reaper: fork");
        return 1;
    }
    if (c == 0) {
        execvp(argv[1], argv + 1);
        perror("reaper: exec");
        _exit(127);
    }
    int rc = 0;
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0) {
            if (errno == EINTR)
                continue;
            break; /* ECHILD: nothing left below us */
        }
        if (p == c)
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        fprintf(stderr, "%lld.%06ld reaper: reaped pid %d status 0x%x\n",
                (long long)ts.tv_sec, ts.tv_nsec / 1000, (int)p, st);
        fflush(stderr);
    }
    return rc;
}
