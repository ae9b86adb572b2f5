#!/usr/bin/env bash
# Measures the loopback Slurm cluster of scripts/slurm-cluster.sh (CPUS=8):
#   (a) submit-to-start latency of one trivial job (median of 5),
#   (b) throughput of a 40-task job array of trivial tasks.
#   scripts/slurm-measure.sh [DIR]   DIR: cluster folder to use (default: a fresh one under /tmp);
#                                    it is removed at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cluster="$here/slurm-cluster.sh"
readonly CPUS=8 RUNS=5 TASKS=40 JOB_TIMEOUT=120

die() { echo "slurm-measure: error: $*" >&2; exit 1; }

if (($# > 1)); then echo "usage: slurm-measure.sh [DIR]" >&2; exit 2; fi
if (($# == 1)); then
  dir=$1
else
  dir=$(mktemp -d /tmp/vpslurm-measure.XXXXXX)
  chmod 0755 "$dir"  # so the munge socket can live inside it
fi
work=$(mktemp -d /tmp/vpslurm-measure-out.XXXXXX)

started=0
cleanup() {
  if ((started)); then bash "$cluster" stop "$dir" || true; fi
  rm -rf -- "$work"
}
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# wait_gone ID: poll squeue until the job (or every task of the array) has left the queue
wait_gone() {
  local deadline=$((SECONDS + JOB_TIMEOUT))
  while [[ -n "$(squeue -h -j "$1" 2>/dev/null)" ]]; do
    ((SECONDS < deadline)) || die "job $1 still queued after ${JOB_TIMEOUT}s"
    sleep 0.05
  done
}

t0=$(now)
conf_line=$(bash "$cluster" start "$dir" "$CPUS")
started=1
t_up=$(now)
[[ "$conf_line" == SLURM_CONF=* ]] || die "unexpected start output: $conf_line"
export "$conf_line"
start_s=$(sub "$t_up" "$t0")

# (a) latency ------------------------------------------------------------------------------------
lat=() sbatch_s=() seen=()
for ((i = 1; i <= RUNS; i++)); do
  f="$work/lat-$i"
  t_sub=$(now)
  id=$(sbatch --parsable --output=/dev/null --wrap "date +%s.%N > $f")
  t_ret=$(now)
  wait_gone "$id"
  t_gone=$(now)
  [[ -s "$f" ]] || die "job $id wrote no timestamp"
  lat+=("$(sub "$(cat "$f")" "$t_sub")")
  sbatch_s+=("$(sub "$t_ret" "$t_sub")")
  seen+=("$(sub "$t_gone" "$t_sub")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# (b) throughput -----------------------------------------------------------------------------------
t_sub=$(now)
id=$(sbatch --parsable --array=0-$((TASKS - 1)) --output=/dev/null \
  --wrap "date +%s.%N > $work/arr-\$SLURM_ARRAY_TASK_ID")
wait_gone "$id"
t_gone=$(now)
n=$(find "$work" -name 'arr-*' -size +0 | wc -l)
((n == TASKS)) || die "only $n of $TASKS array tasks wrote their file"
completed=$(scontrol -o show job "$id" | grep -c 'JobState=COMPLETED' || true)
# waves: task start times split where consecutive starts are > 0.3 s apart, as "offset(count)"
read -r first last waves < <(cat "$work"/arr-* | sort -g | awk -v t0="$t_sub" '
  NR == 1 { first = $1 }
  NR > 1 && $1 - prev > 0.3 { s = s sprintf("%.2fs(%d),", start - t0, n); n = 0 }
  n == 0 { start = $1 }
  { n++; prev = $1; last = $1 }
  END { s = s sprintf("%.2fs(%d)", start - t0, n); printf "%.3f %.3f %s\n", first - t0, last - t0, s }')
wall=$last
tps=$(awk -v n="$TASKS" -v w="$wall" 'BEGIN { printf "%.1f", n / w }')
wall_seen=$(sub "$t_gone" "$t_sub")

t_stop0=$(now)
bash "$cluster" stop "$dir"
started=0
stop_s=$(sub "$(now)" "$t_stop0")

waves=${waves//,/ }

printf '%-52s %s\n' \
  "cluster start (CPUS=$CPUS, until node idle)" "${start_s} s" \
  "cluster stop" "${stop_s} s" \
  "(a) submit->start latency, median of $RUNS" "$(median "${lat[@]}") s   (all: ${lat[*]})" \
  "    sbatch call itself, median" "$(median "${sbatch_s[@]}") s" \
  "    submit->gone from squeue, median" "$(median "${seen[@]}") s" \
  "(b) array of $TASKS: submit->first task start" "${first} s" \
  "    submit->last task ran (wall)" "${wall} s" \
  "    tasks per second" "$tps" \
  "    submit->array gone from squeue" "${wall_seen} s   ($completed/$TASKS COMPLETED in scontrol)" \
  "    waves: start offset(tasks)" "$waves"
