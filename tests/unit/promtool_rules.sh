#!/bin/bash
# The Prometheus alert rules under promtool (registered whether or not
# promtool is installed: a missing promtool fails, naming tools/deps).
#   promtool_rules.sh check RULES_FILE     valid rules
#   promtool_rules.sh test TEST_FILE       unit tests of the rules (run in the
#                                          test file's directory: its paths are relative)
# Exit 77 (skip) instead only under a developer's MIMAMORI_ALLOW_SKIP (tools/check).
set -u
if ! command -v promtool > /dev/null 2>&1; then
    echo "promtool not found on PATH: tools/deps installs it (Debian package prometheus)"
    [ -n "${MIMAMORI_ALLOW_SKIP:-}" ] && exit 77
    exit 1
fi
case ${1:-} in
    check) exec promtool check rules "$2" ;;
    test) cd "$(dirname "$2")" && exec promtool test rules "$(basename "$2")" ;;
    *) echo "usage: $0 check RULES_FILE | test TEST_FILE" >&2; exit 2 ;;
esac
