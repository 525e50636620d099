/* mimamori-sim: deterministic, seeded, virtual-time simulation of N
 * mimamori daemons (the SAME membership and agreement cores) on a
 * simulated network; see `mimamori-sim --help`. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/clock.h"
#include "tools/sim/sim.h"

#define MAX_TABLE 32

struct options {
	struct sim_config cfg;
	uint32_t runs;
	bool loss_given;
	uint32_t table[MAX_TABLE];
	uint32_t table_runs[MAX_TABLE]; /* 0: --runs */
	size_t n_table;
	bool ignore_memory;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mimamori-sim [options]\n"
		"       mimamori-sim nemesis --help   (random fault schedules, nemesis.h)\n"
		"  --nodes N            members (2..16384; default 20)\n"
		"  --scenario NAME      see --list (default crash)\n"
		"  --seed S             first seed (default 1); run r uses S + r\n"
		"  --runs R             runs (default 1)\n"
		"  --duration SECONDS   simulated time after the warm-up (default 30)\n"
		"  --loss P             message loss probability 0..1 (default: the scenario's)\n"
		"  --latency MS         base one-way latency (default 1)\n"
		"  --jitter MS          + uniform [0, jitter) (default 1)\n"
		"  --transport T        datagram (default: a lost or cut message is gone) or tcp\n"
		"                       (retransmitted after --rto, doubling, up to ~12.6 s)\n"
		"  --rto MS             tcp retransmission timeout (default 200, Linux's minimum)\n"
		"  --fence MODE         poweroff (default: the fence powers the host off and\n"
		"                       succeeds) or verify (succeeds only if already off)\n"
		"  --fence-delay S      fence duration (default 1)\n"
		"  --masakari-rtt MS    POST round trip (default 20)\n"
		"  --crashes K          crash-multi: nodes crashing at once (default 3)\n"
		"  --minority K         partition: nodes cut off (default 3)\n"
		"  --stall A-B          starved: stall length range in seconds (default 0.5-2)\n"
		"  --stall-gap A-B      starved: running time between stalls (default 1-5)\n"
		"  --flap-down A-B      flapping: unreachable periods (default 0.5-2)\n"
		"  --flap-up A-B        flapping: reachable periods (default 1-3)\n"
		"  --agr-window MS      agreement unreachable_window (default: agreement.h's)\n"
		"  --agr-probe-interval MS  agreement probe_interval (default: agreement.h's)\n"
		"  --agr-settle MS      agreement claim_settle (default: agreement.h's)\n"
		"  --warmup SECONDS     fixed warm-up (default: until dissemination settles)\n"
		"  --table LIST         markdown table over N values, e.g. 5,100,1000,10000;\n"
		"                       N:R runs R seeds at that N (default --runs)\n"
		"                       (has a wall-time column: not byte-identical)\n"
		"  --ignore-memory      run even if the estimate exceeds MemAvailable\n"
		"  --trace              decisions, faults and lost completions on stderr\n"
		"  --converged          pre-converged start: the warm start's N \"alive\" records\n"
		"                       are not gossiped (every node knows them); the warm-up\n"
		"                       then ends after its 1 s minimum (for N = 10,000)\n"
		"  --list               scenarios\n"
		"The report (stdout) is a function of the options and the seed: the same\n"
		"command prints the same bytes. Wall time and memory go to stderr.\n"
		"Exit status: 0, 4 when a run violated a rule (false verdict, fence or POST,\n"
		"action without majority, duplicate or missing POST), 3 when N does not fit\n"
		"in memory, 2 on bad options, 1 on errors.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end != '\0' || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int parse_secs(const char *s, double scale, uint64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(v >= 0) || v > 1e6)
		return -1;
	*out = (uint64_t)llround(v * scale);
	return 0;
}

/* "A-B" or "A" seconds. */
static int parse_range(const char *s, uint64_t *lo, uint64_t *hi)
{
	char buf[64], *dash;

	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash = '\0';
	if (parse_secs(buf, 1e9, lo) != 0 || parse_secs(dash ? dash + 1 : buf, 1e9, hi) != 0 ||
	    *hi < *lo)
		return -1;
	return 0;
}

/* "N[:R],..." */
static int parse_table(const char *s, struct options *o)
{
	char buf[512];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	o->n_table = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v, r = 0;
		char *colon = strchr(tok, ':');
		if (colon != NULL) {
			*colon = '\0';
			if (parse_u64(colon + 1, &r) != 0 || r < 1 || r > 100000)
				return -1;
		}
		if (o->n_table == MAX_TABLE || parse_u64(tok, &v) != 0 || v < 2 ||
		    v > MESH_MAX_MEMBERS)
			return -1;
		o->table_runs[o->n_table] = (uint32_t)r;
		o->table[o->n_table++] = (uint32_t)v;
	}
	return o->n_table > 0 ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum {
		O_NODES = 256, O_TRANSPORT, O_RTO, O_SCEN, O_SEED, O_RUNS, O_DUR, O_LOSS, O_LAT, O_JIT, O_FENCE,
		O_FDELAY, O_RTT, O_CRASHES, O_MINORITY, O_STALL, O_STALL_GAP, O_FLAP_DOWN, O_FLAP_UP, O_AGR_WINDOW, O_AGR_PINT, O_AGR_SETTLE, O_WARMUP, O_TABLE, O_IGNMEM, O_TRACE, O_CONVERGED,
		O_LIST, O_HELP,
	};
	static const struct option longopts[] = {
		{ "nodes", required_argument, NULL, O_NODES },
		{ "transport", required_argument, NULL, O_TRANSPORT },
		{ "rto", required_argument, NULL, O_RTO },
		{ "scenario", required_argument, NULL, O_SCEN },
		{ "seed", required_argument, NULL, O_SEED },
		{ "runs", required_argument, NULL, O_RUNS },
		{ "duration", required_argument, NULL, O_DUR },
		{ "loss", required_argument, NULL, O_LOSS },
		{ "latency", required_argument, NULL, O_LAT },
		{ "jitter", required_argument, NULL, O_JIT },
		{ "fence", required_argument, NULL, O_FENCE },
		{ "fence-delay", required_argument, NULL, O_FDELAY },
		{ "masakari-rtt", required_argument, NULL, O_RTT },
		{ "crashes", required_argument, NULL, O_CRASHES },
		{ "minority", required_argument, NULL, O_MINORITY },
		{ "stall", required_argument, NULL, O_STALL },
		{ "stall-gap", required_argument, NULL, O_STALL_GAP },
		{ "flap-down", required_argument, NULL, O_FLAP_DOWN },
		{ "flap-up", required_argument, NULL, O_FLAP_UP },
		{ "agr-window", required_argument, NULL, O_AGR_WINDOW },
		{ "agr-probe-interval", required_argument, NULL, O_AGR_PINT },
		{ "agr-settle", required_argument, NULL, O_AGR_SETTLE },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "table", required_argument, NULL, O_TABLE },
		{ "ignore-memory", no_argument, NULL, O_IGNMEM },
		{ "trace", no_argument, NULL, O_TRACE },
		{ "converged", no_argument, NULL, O_CONVERGED },
		{ "list", no_argument, NULL, O_LIST },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_config *c = &o->cfg;
	uint64_t v;
	int opt;

	memset(o, 0, sizeof(*o));
	c->n = 20;
	c->seed = 1;
	c->duration_ns = 30 * NS_PER_S;
	c->net.latency_ns = 1 * NS_PER_MS;
	c->net.jitter_ns = 1 * NS_PER_MS;
	c->transport = TRANSPORT_DATAGRAM;
	c->rto_ns = 200 * NS_PER_MS;
	c->fence_mode = FENCE_POWEROFF;
	c->fence_delay_ns = 1 * NS_PER_S;
	c->masakari_rtt_ns = 20 * NS_PER_MS;
	c->scenario = scenario_find("crash");
	scenario_knobs_default(&c->knobs);
	membership_config_default(&c->mcfg);
	agreement_config_default(&c->acfg);
	o->runs = 1;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		int bad = 0;
		switch (opt) {
		case O_NODES:
			bad = parse_u64(optarg, &v) || v < 2 || v > MESH_MAX_MEMBERS;
			c->n = (uint32_t)v;
			break;
		case O_TRANSPORT:
			if (strcmp(optarg, "datagram") == 0)
				c->transport = TRANSPORT_DATAGRAM;
			else if (strcmp(optarg, "tcp") == 0)
				c->transport = TRANSPORT_TCP;
			else
				bad = 1;
			break;
		case O_RTO:
			bad = parse_secs(optarg, 1e6, &c->rto_ns) || c->rto_ns == 0;
			break;
		case O_SCEN:
			c->scenario = scenario_find(optarg);
			bad = c->scenario == NULL;
			break;
		case O_SEED:
			bad = parse_u64(optarg, &c->seed);
			break;
		case O_RUNS:
			bad = parse_u64(optarg, &v) || v < 1 || v > 100000;
			o->runs = (uint32_t)v;
			break;
		case O_DUR:
			bad = parse_secs(optarg, 1e9, &c->duration_ns) || c->duration_ns == 0;
			break;
		case O_LOSS: {
			char *end;
			errno = 0;
			c->net.loss = strtod(optarg, &end);
			bad = errno || end == optarg || *end != '\0' || !(c->net.loss >= 0) ||
			      c->net.loss > 1;
			o->loss_given = true;
			break;
		}
		case O_LAT:
			bad = parse_secs(optarg, 1e6, &c->net.latency_ns);
			break;
		case O_JIT:
			bad = parse_secs(optarg, 1e6, &c->net.jitter_ns);
			break;
		case O_FENCE:
			if (strcmp(optarg, "poweroff") == 0)
				c->fence_mode = FENCE_POWEROFF;
			else if (strcmp(optarg, "verify") == 0)
				c->fence_mode = FENCE_VERIFY;
			else
				bad = 1;
			break;
		case O_FDELAY:
			bad = parse_secs(optarg, 1e9, &c->fence_delay_ns);
			break;
		case O_RTT:
			bad = parse_secs(optarg, 1e6, &c->masakari_rtt_ns);
			break;
		case O_CRASHES:
			bad = parse_u64(optarg, &v) || v < 1 || v > MESH_MAX_MEMBERS;
			c->knobs.crashes = (uint32_t)v;
			break;
		case O_MINORITY:
			bad = parse_u64(optarg, &v) || v < 1 || v > MESH_MAX_MEMBERS;
			c->knobs.minority = (uint32_t)v;
			break;
		case O_STALL:
			bad = parse_range(optarg, &c->knobs.stall_min_ns, &c->knobs.stall_max_ns);
			break;
		case O_STALL_GAP:
			bad = parse_range(optarg, &c->knobs.stall_gap_min_ns,
					  &c->knobs.stall_gap_max_ns);
			break;
		case O_FLAP_DOWN:
			bad = parse_range(optarg, &c->knobs.flap_down_min_ns,
					  &c->knobs.flap_down_max_ns);
			break;
		case O_FLAP_UP:
			bad = parse_range(optarg, &c->knobs.flap_up_min_ns, &c->knobs.flap_up_max_ns);
			break;
		case O_AGR_WINDOW:
			bad = parse_secs(optarg, 1e6, &c->acfg.unreachable_window_ns) ||
			      c->acfg.unreachable_window_ns == 0;
			break;
		case O_AGR_PINT:
			bad = parse_secs(optarg, 1e6, &c->acfg.probe_interval_ns) ||
			      c->acfg.probe_interval_ns == 0;
			break;
		case O_AGR_SETTLE:
			bad = parse_secs(optarg, 1e6, &c->acfg.claim_settle_ns);
			break;
		case O_WARMUP:
			bad = parse_secs(optarg, 1e9, &c->warmup_ns);
			break;
		case O_TABLE:
			bad = parse_table(optarg, o);
			break;
		case O_IGNMEM:
			o->ignore_memory = true;
			break;
		case O_TRACE:
			c->trace = true;
			break;
		case O_CONVERGED:
			c->converged = true;
			break;
		case O_LIST:
			scenario_list(stdout);
			exit(0);
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (bad) {
			const char *name = "?";
			for (const struct option *lo = longopts; lo->name != NULL; lo++)
				if (lo->val == opt)
					name = lo->name;
			fprintf(stderr, "mimamori-sim: bad value for --%s: %s\n", name, optarg);
			return -1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -1;
	}
	if (!o->loss_given)
		c->net.loss = c->scenario->default_loss;
	return 0;
}

static double wall_now(void)
{
	return (double)mono_ns() / 1e9;
}

static uint64_t mem_available(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static uint64_t peak_rss(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

static double mib(uint64_t b)
{
	return (double)b / (1024.0 * 1024.0);
}

/* Runs `runs` seeds at N; results in out[0..runs). 0, or -1 on setup
 * failure. Per-run lines go to run_out. */
static int run_n(const struct options *o, uint32_t n, uint32_t runs, struct run_result *out,
		 FILE *run_out)
{
	for (uint32_t r = 0; r < runs; r++) {
		struct sim_config c = o->cfg;
		c.n = n;
		c.seed = o->cfg.seed + r;
		struct sim *s = sim_new(&c);
		if (s == NULL)
			return -1;
		sim_run(s);
		stats_result(s, &out[r]);
		stats_print_run(run_out, &out[r], c.scenario->name);
		fflush(run_out);
		sim_free(s);
	}
	return 0;
}

static void print_header(FILE *out, const struct options *o, uint32_t n)
{
	const struct sim_config *c = &o->cfg;
	char nbuf[16];
	if (n == 0)
		snprintf(nbuf, sizeof(nbuf), "per row");
	else
		snprintf(nbuf, sizeof(nbuf), "%u", n);
	fprintf(out,
		"# mimamori-sim: scenario %s, N=%s, seed %llu, runs %u, duration %.1f s; network: "
		"%s, latency %.3f ms + U[0, %.3f) ms, loss %.2f%%; fence %s after %.3f s; Masakari RTT "
		"%.1f ms; membership defaults; agreement: probe every %.0f ms, unreachable window "
		"%.0f ms, resend %.0f ms, claim settle %.0f ms\n",
		c->scenario->name, nbuf, (unsigned long long)c->seed, o->runs,
		(double)c->duration_ns / 1e9,
		c->transport == TRANSPORT_TCP ? "tcp-like retransmission" : "datagrams",
		(double)c->net.latency_ns / 1e6,
		(double)c->net.jitter_ns / 1e6, c->net.loss * 100,
		c->fence_mode == FENCE_POWEROFF ? "poweroff" : "verify",
		(double)c->fence_delay_ns / 1e9, (double)c->masakari_rtt_ns / 1e6,
		(double)c->acfg.probe_interval_ns / 1e6, (double)c->acfg.unreachable_window_ns / 1e6,
		(double)c->acfg.resend_interval_ns / 1e6, (double)c->acfg.claim_settle_ns / 1e6);
	fprintf(out,
		"# knobs: crashes %u, minority %u (0: scenario default); stall %.3f-%.3f s every "
		"%.3f-%.3f s; flap down %.3f-%.3f s, up %.3f-%.3f s; warm-up %s\n",
		c->knobs.crashes, c->knobs.minority, (double)c->knobs.stall_min_ns / 1e9,
		(double)c->knobs.stall_max_ns / 1e9, (double)c->knobs.stall_gap_min_ns / 1e9,
		(double)c->knobs.stall_gap_max_ns / 1e9, (double)c->knobs.flap_down_min_ns / 1e9,
		(double)c->knobs.flap_down_max_ns / 1e9, (double)c->knobs.flap_up_min_ns / 1e9,
		(double)c->knobs.flap_up_max_ns / 1e9, c->warmup_ns ? "fixed" : "automatic");
}

static void fmt_pair(char *buf, size_t len, double a, double b)
{
	if (isnan(a))
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.3f / %.3f", a, b);
}

/* node_footprint() in a child: its heap holds none of our freed chunks,
 * so the RSS it measures is the node's own. */
static uint64_t footprint(uint32_t n)
{
	uint64_t v = 0;
	int fd[2];
	pid_t pid;

	if (pipe(fd) != 0)
		return node_footprint(n);
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return node_footprint(n);
	}
	if (pid == 0) {
		close(fd[0]);
		v = node_footprint(n);
		ssize_t w = write(fd[1], &v, sizeof(v));
		_exit(w == (ssize_t)sizeof(v) ? 0 : 1);
	}
	close(fd[1]);
	if (read(fd[0], &v, sizeof(v)) != (ssize_t)sizeof(v))
		v = 0;
	close(fd[0]);
	waitpid(pid, NULL, 0);
	return v;
}

static int table_mode(const struct options *o)
{
	uint64_t avail = mem_available();
	uint64_t foot[MAX_TABLE];

	for (size_t i = 0; i < o->n_table; i++)
		foot[i] = footprint(o->table[i]);
	print_header(stdout, o, 0);
	printf("| N | runs | dead at first member p50 / p99 (s) | dead at all members p50 / p99 (s) "
	       "| NOTIFY stored p50 / p99 (s) | false deaths / verdicts / fences / POSTs "
	       "| POSTs per failure | msgs/node/s | bytes/node/s | steady msgs/node/s | memory/node "
	       "| wall (s) |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	fflush(stdout);
	for (size_t i = 0; i < o->n_table; i++) {
		uint32_t n = o->table[i];
		double need = (double)foot[i] * n * 1.15 + (double)n * n;
		if (!o->ignore_memory && avail > 0 && need > 0.9 * (double)avail) {
			printf("| %u | - | not run: needs ~%.1f GiB (%.2f MiB/node measured), %.1f GiB "
			       "available | | | | | | | | %.2f MiB | - |\n",
			       n, need / (1 << 30), mib(foot[i]), (double)avail / (1 << 30),
			       mib(foot[i]));
			fflush(stdout);
			continue;
		}
		uint32_t runs = o->table_runs[i] ? o->table_runs[i] : o->runs;
		struct run_result *res = calloc(runs, sizeof(*res));
		if (res == NULL)
			return 1;
		double t = wall_now();
		if (run_n(o, n, runs, res, stderr) != 0) {
			free(res);
			return 1;
		}
		double wall = wall_now() - t;
		struct summary sum;
		char f1[48], f2[48], f3[48];
		stats_summarize(res, runs, &sum);
		fmt_pair(f1, sizeof(f1), sum.first_p50, sum.first_p99);
		fmt_pair(f2, sizeof(f2), sum.all_p50, sum.all_p99);
		fmt_pair(f3, sizeof(f3), sum.notify_p50, sum.notify_p99);
		printf("| %u | %u | %s | %s | %s | %llu / %llu / %llu / %llu | %u..%u (409: "
		       "%llu) | %.1f | %.0f | %.1f | %.2f MiB | %.1f |%s\n",
		       n, runs, f1, f2, f3, (unsigned long long)sum.false_deaths,
		       (unsigned long long)sum.false_verdicts, (unsigned long long)sum.false_fences,
		       (unsigned long long)sum.false_posts,
		       sum.posts_min, sum.posts_max, (unsigned long long)sum.posts_409,
		       sum.msgs_node_s, sum.bytes_node_s, sum.steady_msgs_node_s, mib(foot[i]), wall,
		       sum.violation ? " VIOLATION" : "");
		fflush(stdout);
		fprintf(stderr, "N=%u: wall %.1f s, peak RSS %.0f MiB\n", n, wall, mib(peak_rss()));
		for (uint32_t r = 0; r < runs; r++)
			stats_result_free(&res[r]);
		free(res);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;

	/* The cores' large, mostly unused arrays (suspicion records, done
	 * records, incident bitsets, action queues, membership's 53 KB output
	 * ring) must be mmapped, so their untouched pages stay unmapped:
	 * - a fixed mmap threshold (glibc raises it after big frees);
	 * - no top padding: glibc serves a request >= the threshold from the
	 *   heap's top chunk when it fits (the default 128 KB pad usually
	 *   does), and calloc then clears it, touching every page (at N =
	 *   4000 that was ~180 KB per node);
	 * - no cap on the number of mmapped chunks (~12 per node; glibc's
	 *   default 65536 would send the rest to the heap above N ~5000). */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024);
	mallopt(M_TOP_PAD, 0);
	mallopt(M_MMAP_MAX, 1 << 30);
	if (argc > 1 && strcmp(argv[1], "nemesis") == 0)
		return nemesis_main(argc - 1, argv + 1);
	if (parse_args(argc, argv, &o) != 0)
		return 2;
	if (o.n_table > 0)
		return table_mode(&o);

	uint32_t n = o.cfg.n;
	uint64_t foot = footprint(n), avail = mem_available();
	double need = (double)foot * n * 1.15 + (double)n * n;
	if (!o.ignore_memory && avail > 0 && need > 0.9 * (double)avail) {
		fprintf(stderr,
			"mimamori-sim: N=%u needs ~%.1f GiB (%.2f MiB per node measured: membership "
			"table of N entries + agreement), %.1f GiB available; --ignore-memory to try\n",
			n, need / (1 << 30), mib(foot), (double)avail / (1 << 30));
		return 3;
	}
	struct run_result *res = calloc(o.runs, sizeof(*res));
	if (res == NULL)
		return 1;
	print_header(stdout, &o, n);
	double t = wall_now();
	if (run_n(&o, n, o.runs, res, stdout) != 0)
		return 1;
	stats_print_report(stdout, res, o.runs, o.cfg.scenario->name);
	fprintf(stderr, "mimamori-sim: wall %.2f s, peak RSS %.0f MiB, %.2f MiB per node\n",
		wall_now() - t, mib(peak_rss()), mib(foot));
	struct summary sum;
	stats_summarize(res, o.runs, &sum);
	for (uint32_t r = 0; r < o.runs; r++)
		stats_result_free(&res[r]);
	free(res);
	return sum.violation ? 4 : 0;
}
