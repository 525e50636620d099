#!/bin/bash
# The layer check (issue 9): the tree keeps its house plan.  TAP.
#
#   layers_test.sh [SOURCE_ROOT]            check the tree (tools/check runs it:
#                                           meson test --suite unit layers)
#   layers_test.sh --self-test [SOURCE_ROOT]
#       the checker's own patterns over the crafted trees in
#       tests/unit/layers/*/ (each lists the violations it must yield in
#       its EXPECTED file, nothing more, nothing less), and violations
#       injected into a copy of the real tree must be found at their line
#   layers_test.sh --tree DIR               check any tree, print one line per
#                                           violation (exit 1 if any)
#   layers_test.sh --ranks                  print the rank table (the one copy:
#                                           docs/ARCHITECTURE.md shows this
#                                           output, and this test compares)
#
# Every C file (*.c, *.h, outside the build directories build*/ and the
# fixtures tests/unit/layers/) is read with its comments removed, and each
# violation is printed as `path:line: rule: detail`.  The rules:
#   no-rank       the file's folder has no rank in RANKS below (a new folder
#                 must be placed in the plan first)
#   include-path  a quoted include must name its folder: the path exists from
#                 the project root, or is a header generated in proto/, bpf/ or
#                 tests/rpc/ (D/x.pb-c.h from D/x.proto, D/x.skel.h from
#                 D/x.bpf.c).  Only bpf/*.bpf.c's own includes are exempt
#                 ("vmlinux.h", its shared header: the BPF build's own -I).
#                 A project header is never included with <>.
#   rank          a folder includes only its own rank or lower
#   pure-header   a PURE folder includes no thread, socket, event or nng header
#   pure-include  a PURE folder includes only PURE folders and rank 0
#                 (os/ reads clocks, rpc/ does I/O)
#   pure-clock    a PURE folder reads no clock: clock_gettime, gettimeofday,
#                 time(), timespec_get (it takes the time as an argument)
# Needs bash, find, awk (POSIX: mawk or gawk), sort, diff.
set -u

# The plan's ranks (docs/ARCHITECTURE.md, plan of issue 9): lowest first;
# a folder is matched by its longest prefix.  PURE: no threads, sockets or
# clocks.  Thread folders of one rank may include each other's headers.
RANKS='0 base           pure  helpers any layer uses, one copy each: errbuf, civil_time, text, hash, rng, units
0 proto          -     wire schemas (.proto; protobuf-c generates the C in the build dir)
0 bpf            -     kernel programs (libbpf CO-RE) + exitwatch.h, the record user space reads
1 os             -     thin any-thread wrappers over the OS: clock, log, threads (priorities)
1 mesh           pure  mesh cores, time as an argument: membership, agreement, node (their one composition), wire
2 core           pure  mimamorid cores: correlation, watch list, delivery policy, notification bodies, parsers
2 rpc            -     unary RPC on nng: envelope, transports, TLS, server (worker pool), client
3 daemon/common  -     any-thread helpers of mimamorid: config, metrics, event log, /proc, children
4 daemon/loop    -     event loop thread + start-up: probe, pidfd fallback, libvirt thread, privileges
4 daemon/notifier -    notifier thread: durable outbox, Masakari client (HTTP)
4 daemon/mesh    -     mesh thread: mesh_node, peers cache + closer thread, fencing, members file
4 daemon/serve   -     RPC serving on worker threads: control service (mimamorictl), /metrics
5 tools          -     mimamorictl, sim, bench, check, quickstart, fuzz
6 tests          -     unit, mesh, rpc, sim, integration, fuzz, model tests and their harness'

# PURE folders must not include these (exact names, or DIR/* for a folder)
PURE_BANNED_HEADERS='pthread.h threads.h semaphore.h sys/socket.h sys/un.h netinet/* arpa/* netdb.h
sys/epoll.h sys/eventfd.h sys/timerfd.h sys/select.h poll.h nng/*'

print_ranks() {
	printf '%s\n' "$RANKS" | awk '{ printf "%s  %-16s %-5s", $1, $2 "/", $3;
		$1 = $2 = $3 = ""; sub(/^ +/, ""); print " " $0 }'
}

# check_tree ROOT: one line per violation on stdout, sorted; the last line
# is `# scanned N files, M includes` (so a wrong root cannot pass silently)
check_tree() {
	local root=$1
	[ -d "$root" ] || { echo "$root: not a directory"; return 2; }
	(
		cd "$root" || exit 2
		# every file (the generated headers' sources too), relative
		find . \( -name .git -o -path './build*' -o -path ./tests/unit/layers \) -prune \
			-o -type f -print | sed 's|^\./||' | LC_ALL=C sort > "$tmp/files"
		grep -E '\.(c|h)$' "$tmp/files" > "$tmp/sources"
		if [ -s "$tmp/sources" ]; then
			tr '\n' '\0' < "$tmp/sources" | xargs -0 awk -v ranks="$RANKS" \
				-v banned="$PURE_BANNED_HEADERS" -v filelist="$tmp/files" -f "$tmp/check.awk"
		else
			echo "# scanned 0 files, 0 includes"
		fi
	) | LC_ALL=C sort -t: -k1,1 -k2,2n
}

write_awk() {
	cat > "$tmp/check.awk" <<'AWK'
BEGIN {
	n = split(ranks, lines, "\n")
	for (i = 1; i <= n; i++) {
		split(lines[i], f, " ")
		rank[f[2]] = f[1]; pure[f[2]] = (f[3] == "pure")
	}
	n = split(banned, b, /[ \n]+/)
	for (i = 1; i <= n; i++) if (b[i] != "") ban[b[i]] = 1
	while ((getline p < filelist) > 0) exists[p] = 1
	close(filelist)
	nfiles = 0; nincludes = 0
}
# the ranked folder of a path: its longest prefix in the table ("" if none)
function folder_of(path,    d) {
	d = path
	while (sub(/\/[^\/]*$/, "", d)) if (d in rank) return d
	return ""
}
function report(rule, detail) {
	printf "%s:%d: %s: %s\n", FILENAME, FNR, rule, detail
}
function generated(path,    base) {
	if (path !~ /^(proto|bpf|tests\/rpc)\/[^\/]+$/) return 0
	base = path
	if (sub(/\.pb-c\.h$/, ".proto", base) && (base in exists)) return 1
	base = path
	if (sub(/\.skel\.h$/, ".bpf.c", base) && (base in exists)) return 1
	return 0
}
function banned_header(h,    d) {
	if (h in ban) return 1
	d = h
	while (sub(/\/[^\/]*$/, "", d)) if ((d "/*") in ban) return 1
	return 0
}
# strip(line): the line without comments (state incomment carries over);
# string and character literals are kept (the include's path is one) and
# their contents also blanked into blanked_out
function strip(line,    out, blank, tok, q, lit, c) {
	out = ""; blank = ""
	while (line != "") {
		if (incomment) {
			c = index(line, "*/")
			if (!c) { line = ""; break }
			line = substr(line, c + 2); incomment = 0; out = out " "; blank = blank " "
			continue
		}
		if (!match(line, /\/\*|\/\/|"|'/)) { out = out line; blank = blank line; break }
		out = out substr(line, 1, RSTART - 1); blank = blank substr(line, 1, RSTART - 1)
		tok = substr(line, RSTART, RLENGTH)
		line = substr(line, RSTART + RLENGTH)
		if (tok == "//") { line = ""; break }
		if (tok == "/*") { incomment = 1; continue }
		q = tok; lit = q
		while (line != "") {
			c = substr(line, 1, 1); line = substr(line, 2)
			if (c == "\\") { lit = lit c substr(line, 1, 1); line = substr(line, 2); continue }
			lit = lit c
			if (c == q) break
		}
		out = out lit; blank = blank q q
	}
	blanked_out = blank
	return out
}
FNR == 1 {
	incomment = 0; nfiles++
	dir = folder_of(FILENAME)
	if (dir == "") report("no-rank", "its folder has no rank in the plan (tests/unit/layers_test.sh RANKS)")
	bpf_own = (FILENAME ~ /^bpf\/[^\/]+\.bpf\.c$/)
}
{
	code = strip($0)
	if (dir == "") next
	if (match(code, /^[ \t]*#[ \t]*include[ \t]*"[^"]*"/)) {
		nincludes++
		path = substr(code, RSTART, RLENGTH); sub(/^[^"]*"/, "", path); sub(/"$/, "", path)
		if (bpf_own) next
		if (path ~ /(^|\/)\.\.?\// || !((path in exists) || generated(path))) {
			report("include-path", "\"" path "\" is not a path from the project root (write its folder: \"mesh/agreement.h\")")
			next
		}
		to = folder_of(path)
		if (to == "") { report("rank", "\"" path "\" lies in a folder without a rank"); next }
		if (rank[to] + 0 > rank[dir] + 0)
			report("rank", dir "/ (rank " rank[dir] ") includes \"" path "\" of " to "/ (rank " rank[to] ")")
		else if (pure[dir] && !pure[to] && rank[to] + 0 > 0)
			report("pure-include", dir "/ is pure and includes \"" path "\" of " to "/ (not pure)")
	} else if (match(code, /^[ \t]*#[ \t]*include[ \t]*<[^>]*>/)) {
		nincludes++
		path = substr(code, RSTART, RLENGTH); sub(/^[^<]*</, "", path); sub(/>$/, "", path)
		if (!bpf_own && (path in exists) && folder_of(path) != "")
			report("include-path", "<" path "> is the project's own header: write \"" path "\"")
		else if (pure[dir] && banned_header(path))
			report("pure-header", dir "/ is pure and includes <" path "> (threads, sockets, events belong to daemon/, rpc/, os/)")
	} else if (pure[dir] && match(" " blanked_out, /[^A-Za-z0-9_.>](clock_gettime|gettimeofday|timespec_get|time)[ \t]*\(/)) {
		call = substr(" " blanked_out, RSTART + 1, RLENGTH - 1); sub(/[ \t]*\($/, "", call)
		report("pure-clock", dir "/ is pure and calls " call "() (take the time as an argument)")
	}
}
END { printf "# scanned %d files, %d includes\n", nfiles, nincludes }
AWK
}

n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
# (every diagnostic line commented, also inside a multi-line argument)
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; printf '%s\n' "$@" | sed 's/^/# /'; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mimamori-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
write_awk

# check_rules ROOT: the TAP tests of one tree, one per rule
check_rules() {
	local root=$1 out rule lines scanned
	out=$(check_tree "$root"); [ $? -le 1 ] || { not_ok "check $root" "$out"; return; }
	scanned=$(printf '%s\n' "$out" | sed -n 's/^# scanned \([0-9]*\) files, \([0-9]*\) includes$/\1 \2/p')
	# (a wrong root, a find that found nothing or a broken awk must not pass)
	scanned=${scanned:-0 0}
	if [ "${scanned% *}" -ge 50 ] && [ "${scanned#* }" -ge 200 ]; then
		ok "scanned ${scanned% *} C files with ${scanned#* } includes"
	else
		not_ok "scanned too little to judge: $scanned (files, includes) under $root" "$out"
	fi
	for rule in no-rank include-path rank pure-header pure-include pure-clock; do
		lines=$(printf '%s\n' "$out" | grep -E "^[^:]+:[0-9]+: $rule: ")
		case $rule in
			no-rank) desc="every C file lies in a folder of the plan" ;;
			include-path) desc="every quoted include names its folder (one include root)" ;;
			rank) desc="no folder includes a higher rank" ;;
			pure-header) desc="pure folders (base, mesh, core) include no thread, socket or event header" ;;
			pure-include) desc="pure folders include only pure folders and rank 0" ;;
			pure-clock) desc="pure folders read no clock" ;;
		esac
		if [ -z "$lines" ]; then ok "$desc"; else
			mapfile -t arr <<<"$lines"; not_ok "$desc (rule $rule)" "${arr[@]}"; fi
	done
}

# The rank table as docs/ARCHITECTURE.md shows it: the lines between
# "<!-- layers_test.sh --ranks -->" and the end of the code block after it.
check_docs() {
	local doc=$1/docs/ARCHITECTURE.md shown
	if [ ! -f "$doc" ]; then not_ok "docs/ARCHITECTURE.md shows the rank table" "$doc is missing"; return; fi
	shown=$(awk '/<!-- layers_test.sh --ranks -->/ { on = 1; next }
		on && /^```/ { if (in_block) exit; in_block = 1; next }
		in_block' "$doc")
	if [ "$shown" = "$(print_ranks)" ]; then
		ok "docs/ARCHITECTURE.md shows the rank table as tests/unit/layers_test.sh --ranks prints it"
	else
		not_ok "docs/ARCHITECTURE.md shows the rank table as tests/unit/layers_test.sh --ranks prints it" \
			"diff (-doc +script):" "$(diff <(printf '%s\n' "$shown") <(print_ranks))"
	fi
}

# want DESC ROOT EXPECTED_FILE: the violations found (path:line: rule) are
# exactly the expected ones
want() {
	local desc=$1 root=$2 expected=$3 got
	got=$(check_tree "$root" | grep -v '^# ' | sed -E 's/^([^:]+:[0-9]+: [a-z-]+): .*/\1/')
	if [ "$got" = "$(grep -v '^#' "$expected" | LC_ALL=C sort -t: -k1,1 -k2,2n)" ]; then ok "$desc"; else
		not_ok "$desc" "diff (-expected +found):" \
			"$(diff <(grep -v '^#' "$expected" | LC_ALL=C sort -t: -k1,1 -k2,2n) <(printf '%s\n' "$got"))"
	fi
}

# self_test SOURCE_ROOT
self_test() {
	local src=$1 d copy out f
	for d in "$src"/tests/unit/layers/*/; do
		d=${d%/}
		want "fixture ${d##*/}: $(sed -n '1s/^# //p' "$d/EXPECTED")" "$d" "$d/EXPECTED"
	done
	# The docs' copy of the rank table: one changed line is a failure.
	mkdir -p "$tmp/doc/docs"
	sed 's|^2  core/  |2  kore/  |' "$src/docs/ARCHITECTURE.md" > "$tmp/doc/docs/ARCHITECTURE.md"
	out=$(n=0 failed=0; check_docs "$tmp/doc")
	if [[ $out == "not ok 1 "*"# > 2  core/"* ]]; then ok "docs/ARCHITECTURE.md with one rank line changed fails, showing the line"
	else not_ok "docs/ARCHITECTURE.md with one rank line changed fails, showing the line" "output:" "$out"; fi
	# A copy of the real tree's sources with one violation of each rule
	# injected: each must be found at its line (whatever else the tree has).
	copy=$tmp/copy
	mkdir -p "$copy"
	(cd "$src" && find . \( -name .git -o -path './build*' -o -path ./tests/unit/layers \) -prune \
		-o -type f \( -name '*.[ch]' -o -name '*.proto' \) -print | xargs cp --parents -t "$copy") ||
		{ not_ok "copy the tree's sources to $copy"; return; }
	append() { printf '%s\n' "$2" >> "$copy/$1"; wc -l < "$copy/$1"; }
	local -a inject=(
		"mesh/wire.c|#include \"daemon/loop/probe.h\"|rank"
		"daemon/common/config.c|#include \"daemon/notifier/outbox.h\"|rank"
		"core/correlate.c|#include \"correlate.h\"|include-path"
		"rpc/server.c|#include \"../os/log.h\"|include-path"
		"daemon/loop/probe.c|#include <os/log.h>|include-path"
		"base/text.c|  #  include <pthread.h>|pure-header"
		"core/keystone.c|#include <sys/socket.h>|pure-header"
		"mesh/membership.c|#include \"os/clock.h\"|pure-include"
		"core/notification.c|static long f(void) { return (long)time(NULL); }|pure-clock"
		"mesh/agreement.c|static void g(struct timespec *t) { clock_gettime(1, t); }|pure-clock"
	)
	local spec file text rule at
	local -a expect=()
	for spec in "${inject[@]}"; do
		IFS='|' read -r file text rule <<<"$spec"
		at=$(append "$file" "$text")
		expect+=("$file:$at: $rule")
	done
	mkdir -p "$copy/lib" && echo 'int x;' > "$copy/lib/new.c" && expect+=("lib/new.c:1: no-rank")
	out=$(check_tree "$copy")
	local missing=()
	for f in "${expect[@]}"; do
		grep -qF -- "$f: " <<<"$out" || missing+=("$f")
	done
	if [ ${#missing[@]} = 0 ]; then ok "a copy of the tree with ${#expect[@]} injected violations: each found at its line"
	else not_ok "a copy of the tree with injected violations: each found at its line" "not found: ${missing[@]}" "output:" "$out"; fi
	# and the copy without them is judged as the tree is
	rm -rf "$copy" && mkdir -p "$copy" && (cd "$src" && find . \( -name .git -o -path './build*' -o -path ./tests/unit/layers \) -prune \
		-o -type f \( -name '*.[ch]' -o -name '*.proto' \) -print | xargs cp --parents -t "$copy")
	if [ "$(check_tree "$copy")" = "$(check_tree "$src")" ]; then ok "the copy of the tree (sources and .proto only) is judged as the tree"
	else not_ok "the copy of the tree is judged as the tree" "$(diff <(check_tree "$src") <(check_tree "$copy"))"; fi
}

case ${1:-} in
	--ranks) print_ranks; exit 0 ;;
	--tree)
		[ $# = 2 ] || { echo "usage: $0 --tree DIR" >&2; exit 2; }
		out=$(check_tree "$2"); rc=$?; printf '%s\n' "$out"
		[ $rc -le 1 ] || exit 2
		! grep -q '^[^#]' <<<"$out"; exit ;;
	--self-test)
		src=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
		self_test "$src" ;;
	-*) echo "usage: see the head of $0" >&2; exit 2 ;;
	*)
		src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
		check_rules "$src"
		check_docs "$src" ;;
esac
echo "1..$n"
[ "$failed" = 0 ]
