#!/bin/bash
# fence.sh BASE ACTOR TARGET - the [fencing] command of the test mesh (each
# node's BASE/nodes/NAME/fence execs it with its own name as ACTOR; mimamorid
# passes TARGET, the host to fence).  Fences nothing: appends one line
#   START END ACTOR TARGET RC        (unix times, s.us)
# to BASE/fence.log and exits RC.  Behaviour, read at each call:
#   BASE/fence.rc     exit status [0 = fenced]
#   BASE/fence.delay  seconds to take first [0]
base=$1 actor=$2 target=${3:-}
start=$EPOCHREALTIME
rc=$(cat "$base/fence.rc" 2>/dev/null || echo 0)
delay=$(cat "$base/fence.delay" 2>/dev/null || echo 0)
[ "$delay" = 0 ] || sleep "$delay"
printf '%s %s %s %s %s\n' "$start" "$EPOCHREALTIME" "$actor" "${target:-?}" "$rc" >> "$base/fence.log"
exit "$rc"
