#!/usr/bin/env bash
# Throw-away single-node Slurm cluster on loopback, for tests that submit job arrays.
# Needs root and Debian's slurm-wlm + munge (scripts/setup.sh installs them).
#
#   scripts/slurm-cluster.sh start DIR [CPUS]   start munged, slurmctld, slurmd with all state in DIR;
#                                               prints "SLURM_CONF=DIR/slurm.conf" on stdout
#   scripts/slurm-cluster.sh stop DIR           cancel all jobs, stop the daemons, remove DIR
#
# CPUS (default 4) is the number of CPUs the node advertises; it may exceed the real core count, so
# array tasks overlap. DIR may hold the leftovers of an earlier harness killed with -9: start stops
# those daemons first. Diagnostics go to stderr; any failure exits non-zero.
set -euo pipefail

readonly MARKER=.vpbook-slurm-cluster   # DIR holds this file, so stop only ever removes our folders
readonly SOCKDIR_RECORD=munge-socket-dir  # DIR/<this> names the /tmp folder of the munge socket, if any
readonly DAEMONS=(slurmd slurmctld munged)
readonly IDLE_TIMEOUT=${VPBOOK_SLURM_START_TIMEOUT:-30} # seconds until the node must be idle

die() { echo "slurm-cluster: error: $*" >&2; exit 1; }
note() { echo "slurm-cluster: $*" >&2; }

usage() {
  cat >&2 <<'EOF'
usage: slurm-cluster.sh start DIR [CPUS]
       slurm-cluster.sh stop DIR
EOF
  exit 2
}

# ---- processes ------------------------------------------------------------------------------------

# running PID NAME: PID is a live (not zombie) process called NAME. The daemons are orphans once start
# returns, and PID 1 may reap them lazily (here: 1-2 s), so an exited daemon lingers as a zombie.
running() {
  local stat
  [[ "$(cat "/proc/$1/comm" 2>/dev/null)" == "$2" ]] || return 1
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != [ZX] ]]
}

# pid_of NAME: the live pid of daemon NAME recorded in DIR (our own record or the daemon's pid file),
# only if that process really is NAME (pids are reused).
pid_of() {
  local name=$1 f pid
  for f in "$dir/run/$name.pid" "$dir/$name.pid" "$dir/munge/$name.pid"; do
    [[ -r "$f" ]] || continue
    pid=$(tr -dc '0-9' <"$f")
    [[ -n "$pid" ]] || continue
    if running "$pid" "$name"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}

# stop_pids NAME:PID...: SIGTERM all at once, wait up to 10 s for them to exit (zombies count as gone),
# then SIGKILL whatever is left.
stop_pids() {
  local e i left
  for e in "$@"; do kill -TERM "${e#*:}" 2>/dev/null || true; done
  for ((i = 0; i < 150; i++)); do
    left=()
    for e in "$@"; do
      if running "${e#*:}" "${e%%:*}"; then left+=("$e"); fi
    done
    ((${#left[@]})) || return 0
    if ((i == 100)); then
      note "still alive 10 s after SIGTERM, sending SIGKILL: ${left[*]}"
      for e in "${left[@]}"; do kill -KILL "${e#*:}" 2>/dev/null || true; done
    fi
    sleep 0.1
  done
  note "could not stop: ${left[*]}"
}

# stop_daemons [NAME...]: stop the named daemons of DIR (default: all) that are still alive
stop_daemons() {
  local name pid live=()
  (($#)) || set -- "${DAEMONS[@]}"
  for name in "$@"; do
    if pid=$(pid_of "$name"); then live+=("$name:$pid"); fi
  done
  ((${#live[@]} == 0)) || stop_pids "${live[@]}"
}

# Job steps outlive their slurmd (slurmstepd is re-parented to init) when nobody cancelled the jobs,
# e.g. after kill -9 of the harness; and slurmd ignores SIGTERM for 10 s while steps run and
# slurmctld is gone. A slurmstepd has an empty environment, but it inherits slurmd's
# cwd (DIR, see launch) and keeps DIR/log/slurmd.log open: kill those and all their descendants.
kill_job_steps() {
  local p pid ppid victims=() parents link
  for pid in $(pgrep -x slurmstepd || true); do
    for link in "/proc/$pid/cwd" "/proc/$pid"/fd/*; do
      link=$(readlink "$link" 2>/dev/null) || continue
      link=${link% (deleted)}
      if [[ "$link" == "$dir" || "$link" == "$dir"/* ]]; then victims+=("$pid"); break; fi
    done
  done
  ((${#victims[@]})) || return 0
  # add all descendants (the job's processes)
  parents=" ${victims[*]} "
  local grew=1
  while ((grew)); do
    grew=0
    for p in /proc/[0-9]*; do
      pid=${p#/proc/}
      [[ "$parents" == *" $pid "* ]] && continue
      ppid=$(awk '{print $4}' "$p/stat" 2>/dev/null) || continue
      if [[ "$parents" == *" $ppid "* ]]; then parents+="$pid "; grew=1; fi
    done
  done
  note "killing leftover job steps of $dir:$parents"
  # shellcheck disable=SC2086
  kill -KILL $parents 2>/dev/null || true
}

# ---- start ----------------------------------------------------------------------------------------

# every folder from $1 up to / must be world-searchable for munged to accept a socket below it
world_searchable() {
  local d=$1 mode
  while :; do
    mode=$(stat -c %a "$d" 2>/dev/null) || return 1
    (( (8#$mode & 1) != 0 )) || return 1
    [[ "$d" == / ]] && return 0
    d=$(dirname "$d")
  done
}

port_free() { # nothing listens on 127.0.0.1:$1
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_ports() {
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p" && port_free $((p + 1)); then echo "$p"; return 0; fi
  done
  die "found no two free adjacent ports on 127.0.0.1"
}

show_logs() { # per daemon: its log file, or what it printed before it opened one
  local name f
  for name in munged slurmctld slurmd; do
    f="$dir/log/$name.log"
    [[ -s "$f" ]] || f="$dir/log/$name.out"
    [[ -s "$f" ]] || continue
    echo "---- tail of $f" >&2
    tail -n 10 "$f" >&2
  done
}

# kill_launched NAME...: SIGKILL what this start launched (by our own pid record, whatever it became)
kill_launched() {
  local name pid
  for name in "$@"; do
    if launched_alive "$name"; then
      pid=$(cat "$dir/run/$name.pid")
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

write_conf() {
  local port=$1 cpus=$2 sock=$3 mem
  mem=$(awk '/^MemTotal:/ {print int($2 / 1024); exit}' /proc/meminfo)
  [[ "$mem" =~ ^[0-9]+$ ]] || mem=1024
  cat >"$dir/slurm.conf.tmp" <<EOF
# written by scripts/slurm-cluster.sh; throw-away loopback cluster
ClusterName=vptest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MailProg=/bin/true
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus Sockets=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$dir/slurm.conf.tmp" "$dir/slurm.conf"
}

# launch NAME CMD...: run a daemon in its own session, detached from our stdio, record its pid
launch() {
  local name=$1
  shift
  (cd "$dir" && exec setsid "$@" </dev/null >>"$dir/log/$name.out" 2>&1) &
  echo $! >"$dir/run/$name.pid"
  disown $!  # no "Killed" chatter from bash if we have to kill it
}

alive() { pid_of "$1" >/dev/null; }
launched_alive() { # the process we launched still exists (it may not have exec'd its daemon yet)
  local pid stat
  pid=$(cat "$dir/run/$1.pid" 2>/dev/null) && stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != [ZX] ]]
}

start_slurm() { # returns 0 when idle, 1 on failure, 3 when slurmctld could not bind its port
  local port=$1 cpus=$2 sock=$3 state deadline=$((SECONDS + IDLE_TIMEOUT))
  write_conf "$port" "$cpus" "$sock"
  export SLURM_CONF="$dir/slurm.conf"
  launch slurmctld slurmctld -D -c -f "$dir/slurm.conf"
  launch slurmd slurmd -D -N localhost -f "$dir/slurm.conf"
  while ((SECONDS < deadline)); do
    state=$(timeout 10 sinfo -h -n localhost -o %T 2>/dev/null || true)
    [[ "$state" == idle ]] && return 0
    if ! launched_alive slurmctld || ! launched_alive slurmd; then
      sleep 0.2
      if grep -qs 'Address already in use' "$dir"/log/*.log "$dir"/log/*.out; then return 3; fi
      note "a Slurm daemon died during start-up (slurmctld alive: $(alive slurmctld && echo yes || echo no), slurmd alive: $(alive slurmd && echo yes || echo no))"
      return 1
    fi
    sleep 0.1
  done
  note "node did not become idle within ${IDLE_TIMEOUT}s (last sinfo state: '${state:-none}')"
  return 1
}

cmd_start() {
  local cpus=$1 sock sockdir i rc
  [[ "$cpus" =~ ^[1-9][0-9]*$ ]] || die "CPUS must be a positive integer, got '$cpus'"
  [[ $(id -u) -eq 0 ]] || die "must run as root (slurmd and SlurmUser=root)"
  local b
  for b in munged mungekey munge unmunge slurmctld slurmd sinfo pgrep; do
    command -v "$b" >/dev/null || die "$b not found; run scripts/setup.sh (Debian packages slurm-wlm munge)"
  done

  if [[ -e "$dir" && ! -d "$dir" ]]; then die "$dir exists and is not a folder"; fi
  if [[ -d "$dir" && ! -e "$dir/$MARKER" ]] && [[ -n "$(ls -A "$dir")" ]]; then
    die "$dir is not empty and was not made by this script; refusing to use it"
  fi
  if [[ -e "$dir/$MARKER" ]]; then
    note "$dir holds an earlier cluster; stopping its daemons first"
    kill_job_steps
    stop_daemons
    kill_job_steps
    remove_sockdir
    find "$dir" -mindepth 1 -delete
  fi
  mkdir -p "$dir"
  touch "$dir/$MARKER"
  mkdir -p "$dir/run" "$dir/log" "$dir/state" "$dir/spool" "$dir/munge"
  chmod 0700 "$dir/munge"

  # munge socket: DIR/munge when reachable and short enough, else a fresh 0755 folder under /tmp
  sock="$dir/munge/munge.socket.2"
  if ((${#sock} >= 100)) || ! world_searchable "$dir"; then
    sockdir=$(mktemp -d /tmp/vpslurm-munge.XXXXXX)
    chmod 0755 "$sockdir"
    echo "$sockdir" >"$dir/$SOCKDIR_RECORD"
    sock="$sockdir/munge.socket.2"
  else
    chmod 0755 "$dir/munge"
  fi

  mungekey -c -k "$dir/munge/munge.key" >/dev/null 2>>"$dir/log/munged.out" ||
    { show_logs; die "mungekey failed"; }
  # with -F munged logs to stderr (log/munged.out), not to a --log-file
  launch munged munged -F -S "$sock" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --seed-file="$dir/munge/munged.seed"
  for ((i = 0; ; i++)); do
    if munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1; then break; fi
    if ((i >= 100)) || ! launched_alive munged; then
      show_logs
      stop_daemons
      kill_launched munged
      die "munged did not come up (socket $sock); run 'slurm-cluster.sh stop $dir' to clean up"
    fi
    sleep 0.1
  done

  for ((i = 1; ; i++)); do
    rc=0
    start_slurm "$(pick_ports)" "$cpus" "$sock" || rc=$?
    ((rc == 0)) && break
    stop_daemons slurmd slurmctld
    kill_launched slurmd slurmctld
    if ((rc == 3 && i < 3)); then
      note "port taken meanwhile; retrying with other ports"
      rm -f "$dir"/log/slurm*
      continue
    fi
    show_logs
    stop_daemons
    kill_launched munged
    die "Slurm did not start; logs are in $dir/log; run 'slurm-cluster.sh stop $dir' to clean up"
  done
  echo "SLURM_CONF=$dir/slurm.conf"
}

# ---- stop -----------------------------------------------------------------------------------------

remove_sockdir() {
  local sd
  [[ -r "$dir/$SOCKDIR_RECORD" ]] || return 0
  sd=$(cat "$dir/$SOCKDIR_RECORD")
  case "$sd" in
    /tmp/vpslurm-munge.?*) rm -rf -- "$sd" ;;
    *) note "ignoring odd munge socket folder record '$sd'" ;;
  esac
  rm -f "$dir/$SOCKDIR_RECORD"
}

cmd_stop() {
  local ids deadline
  [[ -e "$dir" ]] || return 0
  [[ -d "$dir" ]] || die "$dir is not a folder"
  if [[ ! -e "$dir/$MARKER" ]]; then
    [[ -z "$(ls -A "$dir")" ]] || die "$dir was not made by slurm-cluster.sh; refusing to remove it"
    rmdir "$dir"
    return 0
  fi
  if [[ -r "$dir/slurm.conf" ]] && alive slurmctld; then
    export SLURM_CONF="$dir/slurm.conf"
    # %F: the array job id for array tasks, the job id otherwise
    ids=$(timeout 15 squeue -h -o %F 2>/dev/null | sort -u | tr '\n' ' ' || true)
    if [[ -n "${ids// /}" ]]; then
      # shellcheck disable=SC2086
      timeout 15 scancel $ids 2>/dev/null || true
      deadline=$((SECONDS + 30))
      until [[ -z "$(timeout 15 squeue -h -o %i 2>/dev/null)" ]]; do
        if ((SECONDS >= deadline)); then note "jobs still queued after 30 s; stopping anyway"; break; fi
        sleep 0.1
      done
    fi
  fi
  kill_job_steps  # none left if scancel worked
  stop_daemons
  kill_job_steps
  remove_sockdir
  rm -rf -- "$dir"
}

# ---- main -----------------------------------------------------------------------------------------

(($# >= 2)) || usage
sub=$1
[[ -n "$2" ]] || usage
dir=$(realpath -m -- "$2")
[[ -n "$dir" && "$dir" != / ]] || die "refusing DIR '/'"
[[ "$dir" != *[[:space:]]* ]] || die "DIR must not contain whitespace (slurm.conf cannot quote it)"
case "$sub" in
  start) (($# <= 3)) || usage; cmd_start "${3:-4}" ;;
  stop) (($# == 2)) || usage; cmd_stop ;;
  *) usage ;;
esac
