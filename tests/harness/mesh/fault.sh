#!/bin/bash
# fault.sh ACTION [ARGS] - network faults between the members of the mesh of
# start.sh (same BASE), as iptables rules inside the members' namespaces
# (this kernel has no netem; the rules vanish with the namespaces).  Masakari
# stays reachable from every member.
#   partition NAME[,NAME...]  the listed members and all the others can no
#                            longer talk (DROP both ways, on both sides)
#   blackhole NAME...        NAME drops everything but loopback (in and out)
#   loss PROB [NAME...]      random loss of incoming packets (iptables
#                            statistic, PROB e.g. 0.05) on NAME [every member]
#   heal [NAME...]           remove every rule on NAME [every member]
#   show [NAME...]           print the rules
set -uo pipefail
. "$(dirname "$(readlink -f "$0")")/common.sh"
[ $# -ge 1 ] || { sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit 2; }
mesh_load
command -v iptables > /dev/null || mesh_die "iptables missing (apt-get install iptables; tools/deps)"
ACTION=$1; shift
ipt() { local n=$1; shift; mesh_nsx "$(mesh_ns "$n")" iptables -w 5 "$@"; }
names_or_all() { if [ $# -gt 0 ]; then echo "$@"; else mesh_names; fi; }

case $ACTION in
partition)
    [ $# = 1 ] || mesh_die "partition NAME[,NAME...]"
    group=" ${1//,/ } "
    for g in $group; do mesh_ip "$g" > /dev/null || mesh_die "no member $g"; done
    for a in $(mesh_names); do
        for b in $(mesh_names); do
            [ "$a" = "$b" ] && continue
            ina=0 inb=0
            [[ $group == *" $a "* ]] && ina=1
            [[ $group == *" $b "* ]] && inb=1
            [ $ina = $inb ] && continue
            ip_b=$(mesh_ip "$b")
            ipt "$a" -A INPUT -s "$ip_b" -j DROP || exit 1
            ipt "$a" -A OUTPUT -d "$ip_b" -j DROP || exit 1
        done
    done ;;
blackhole)
    for n in "$@"; do
        ipt "$n" -A INPUT -i eth0 -j DROP || exit 1
        ipt "$n" -A OUTPUT -o eth0 -j DROP || exit 1
    done ;;
loss)
    [ $# -ge 1 ] || mesh_die "loss PROB [NAME...]"
    p=$1; shift
    for n in $(names_or_all "$@"); do
        ipt "$n" -A INPUT -i eth0 -m statistic --mode random --probability "$p" -j DROP || exit 1
    done ;;
heal)
    for n in $(names_or_all "$@"); do ipt "$n" -F || exit 1; done ;;
show)
    for n in $(names_or_all "$@"); do echo "# $n"; ipt "$n" -S; done ;;
*) mesh_die "unknown action $ACTION" ;;
esac
