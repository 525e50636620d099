#!/bin/bash
# The manual pages stay clean and complete (TAP):
#   - each page renders with groff and no warning at all (-ww);
#   - every key of etc/mimamori.conf.example is documented in
#     mimamori.conf(5), under its own [section], and every key documented
#     there exists in the example (no stale entries);
#   - every long option of mimamorid (its usage() text and its getopt
#     table) is documented in the OPTIONS of mimamorid(8); with a built
#     binary as second argument, so is every one its --help prints;
#   - every long option of mimamorictl is documented in mimamorictl(8)
#     (OPTIONS or COMMANDS), and every command of its usage() has a
#     subsection there.
#
# usage: man_pages_test.sh [SOURCE_ROOT [MIMAMORID]]
# SOURCE_ROOT defaults to the tree this script is in.
set -u

src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
mimamorid=${2:-}
man_dir=$src/docs/man
pages=(mimamorid.8 mimamorictl.8 mimamori.conf.5)

if ! command -v groff >/dev/null 2>&1; then
	# a skip only in a developer's partial run (tools/check)
	if [ -n "${MIMAMORI_ALLOW_SKIP:-}" ]; then
		echo "1..0 # SKIP groff is not installed (tools/deps installs it)"
		exit 0
	fi
	echo "1..1"
	echo "not ok 1 - groff is not installed: tools/deps installs it"
	exit 1
fi

n=0
results=()
ok() { n=$((n + 1)); results+=("ok $n - $1"); }
not_ok() {
	n=$((n + 1))
	results+=("not ok $n - $1")
	shift
	for line in "$@"; do
		results+=("# $line")
	done
}
finish() {
	echo "1..$n"
	printf '%s\n' "${results[@]}"
	exit 0
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Plain text as man(1) shows it: no bold or underline, '-' for \-.
render() { groff -man -Tascii -P-cbou -rLL=78n "$1" 2>/dev/null; }

# ---- each page renders without a warning ----
for page in "${pages[@]}"; do
	file=$man_dir/$page
	if [ ! -f "$file" ]; then
		not_ok "$page renders without warnings" "missing: $file"
		continue
	fi
	# utf8 is what man(1) uses on most terminals; ascii lacks glyphs
	# (\(mc, ...) that utf8 has, so a page must be clean on both.
	warnings=$(for dev in utf8 ascii; do
		groff -man -ww -z -T$dev "$file" 2>&1 >/dev/null || echo "groff -T$dev failed"
	done)
	text=$(render "$file")
	if [ -z "$warnings" ] && [ -n "$text" ]; then
		ok "$page renders without warnings"
	else
		mapfile -t lines <<<"${warnings:-empty output}"
		not_ok "$page renders without warnings" "${lines[@]}"
	fi
done

# ---- mimamori.conf.5 documents every key of the example, and no other ----
example=$src/etc/mimamori.conf.example
conf5=$man_dir/mimamori.conf.5

# "section.key" for each key line of the example: "key = value" or, as the
# example has them, commented out without a space: "#key = value". Prose
# comments start with "# " and never match.
awk '
	/^\[[a-z_]+\][ \t]*$/ { sec = substr($1, 2, length($1) - 2); next }
	match($0, /^#?[a-z_]+[ \t]*[=:]/) {
		key = substr($0, 1, RLENGTH)
		sub(/^#/, "", key); sub(/[ \t]*[=:]$/, "", key)
		print sec "." key
	}
' "$example" | sort -u >"$tmp/example_keys"

# "section.key" for each entry of the page: a .TP/.TQ tag ".B key" or
# ".BR key ..." under .SH "[section]", not nested in .RS (value lists).
awk '
	/^\.SH/ {
		sec = ""
		if (match($0, /"\[[a-z_]+\]"/))
			sec = substr($0, RSTART + 2, RLENGTH - 4)
		depth = 0; tag = 0; next
	}
	/^\.RS/ { depth++; next }
	/^\.RE/ { if (depth > 0) depth--; next }
	/^\.(TP|TQ)/ { tag = 1; next }
	tag && sec != "" && depth == 0 && match($0, /^\.BR? [a-z_]+( |$)/) {
		key = $2
		print sec "." key
	}
	{ tag = 0 }
' "$conf5" | sort -u >"$tmp/documented_keys"

if [ ! -s "$tmp/example_keys" ]; then
	not_ok "keys found in etc/mimamori.conf.example" "none parsed from $example"
else
	ok "keys found in etc/mimamori.conf.example ($(wc -l <"$tmp/example_keys"))"
fi
while read -r sk; do
	if grep -qxF "$sk" "$tmp/documented_keys"; then
		ok "mimamori.conf.5 documents [${sk%%.*}] ${sk#*.}"
	else
		not_ok "mimamori.conf.5 documents [${sk%%.*}] ${sk#*.}" \
			"no .TP entry for ${sk#*.} under .SH \"[${sk%%.*}]\""
	fi
done <"$tmp/example_keys"
stale=$(comm -13 "$tmp/example_keys" "$tmp/documented_keys")
if [ -z "$stale" ]; then
	ok "mimamori.conf.5 documents no key the example lacks"
else
	mapfile -t lines <<<"$stale"
	not_ok "mimamori.conf.5 documents no key the example lacks" "${lines[@]}"
fi

# ---- mimamorid.8 documents every long option ----
daemon_src=$src/daemon/loop/mimamorid.c
{
	# the usage() text
	awk '/^static void usage\(/, /^}/' "$daemon_src" | grep -oE -- '--[a-z][a-z-]*'
	# the getopt_long table: { "name", no_argument|required_argument, ... }
	grep -oE '\{ *"[a-z][a-z-]*", *(no|required|optional)_argument' "$daemon_src" |
		sed -E 's/\{ *"([a-z-]+)".*/--\1/'
	if [ -n "$mimamorid" ]; then
		"$mimamorid" --help 2>&1 | grep -oE -- '--[a-z][a-z-]*'
	fi
} | sort -u >"$tmp/options"

if [ ! -s "$tmp/options" ]; then
	not_ok "long options found in mimamorid's usage()" "none parsed from $daemon_src"
else
	ok "long options found in mimamorid's usage() ($(wc -l <"$tmp/options"))"
fi
render "$man_dir/mimamorid.8" | awk '/^OPTIONS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' \
	>"$tmp/options_section"
while read -r opt; do
	if grep -qE -- "(^|[^-a-z])$opt([^-a-z]|$)" "$tmp/options_section"; then
		ok "mimamorid.8 OPTIONS documents $opt"
	else
		not_ok "mimamorid.8 OPTIONS documents $opt" "$opt is not in the OPTIONS section"
	fi
done <"$tmp/options"

# ---- mimamorictl.8 documents every long option and command ----
ctl_src=$src/tools/mimamorictl.c
if [ -f "$ctl_src" ]; then
	{
		awk '/^static void usage\(/, /^}/' "$ctl_src" | grep -oE -- '--[a-z][a-z-]*'
		grep -oE '\{ *"[a-z][a-z-]*", *(no|required|optional)_argument' "$ctl_src" |
			sed -E 's/\{ *"([a-z-]+)".*/--\1/'
	} | sort -u >"$tmp/ctl_options"
	# Global options are in OPTIONS, command options under their command.
	render "$man_dir/mimamorictl.8" |
		awk '/^(OPTIONS|COMMANDS)/ { on = 1; next } /^[A-Z]/ { on = 0 } on' \
		>"$tmp/ctl_sections"
	while read -r opt; do
		if grep -qE -- "(^|[^-a-z])$opt([^-a-z]|$)" "$tmp/ctl_sections"; then
			ok "mimamorictl.8 documents $opt"
		else
			not_ok "mimamorictl.8 documents $opt" \
				"$opt is in neither OPTIONS nor COMMANDS"
		fi
	done <"$tmp/ctl_options"
	# Commands: the first word of each line of usage()'s "Commands:" block.
	awk '/^static void usage\(/, /^}/' "$ctl_src" |
		sed -n '/Commands:/,/Options:/p' |
		grep -oE '^[[:space:]]*"  [a-z]+( [a-z]+)?( [A-Z]+)?' |
		sed -E 's/^[[:space:]]*"  //; s/ [A-Z]+$//' | sort -u >"$tmp/ctl_commands"
	while read -r cmd; do
		if grep -qE "^\.SS $cmd( |$)" "$man_dir/mimamorictl.8"; then
			ok "mimamorictl.8 has a section for the command '$cmd'"
		else
			not_ok "mimamorictl.8 has a section for the command '$cmd'" \
				"no .SS $cmd under COMMANDS"
		fi
	done <"$tmp/ctl_commands"
fi

finish
