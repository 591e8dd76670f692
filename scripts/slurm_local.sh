#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for tests and for trying the sweep's cluster path:
#   sudo scripts/slurm_local.sh up       # install (Debian/Ubuntu: slurm-wlm, munge) and start munged, slurmctld, slurmd
#   scripts/slurm_local.sh status        # daemons, sinfo, squeue; exit 0 when the node takes jobs
#   sudo scripts/slurm_local.sh down     # stop what `up` started (a munged that was already running stays)
# The node gets this machine's CPUs and memory (`slurmd -C`). Daemons are started directly (no
# systemd needed, e.g. in a container) and run as root; job completions are logged to
# $SLURM_LOCAL_DIR/jobcomp.log, which `sacct --completion` reads (no slurmdbd). Both are fine for a
# single-user test cluster, not for a shared one. `up` and `down` may be run any number of times.
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/var/lib/iftkit-slurm}
CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
MARK="# written by iftkit scripts/slurm_local.sh"
MUNGE_PID=/run/munge/munged.pid  # munged runs as user munge: its pid file lives in its own folder

die() { echo "slurm_local.sh: $*" >&2; exit 1; }

pid_alive() { [[ -s $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

need_root() { [[ $(id -u) == 0 ]] || die "$1 needs root (it starts munged, slurmctld and slurmd): run it with sudo"; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    command -v apt-get >/dev/null || die "slurmctld/slurmd/sbatch/munged are missing and there is no apt-get: install SLURM and munge"
    echo "installing slurm-wlm and munge (apt-get)"
    apt-get update -qq
    # policy-rc.d-less machines would start the packaged services with the packaged config: we start our own
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm slurm-client munge >/dev/null
}

write_conf() {
    local host node_line hardware cpus mem
    host=$(hostname -s)
    # slurmd -C: "NodeName=h CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=24105"
    node_line=$(slurmd -C | head -n 1)
    cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$node_line")
    mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node_line")
    [[ -n $cpus && -n $mem ]] || die "could not read CPUs and RealMemory from 'slurmd -C': $node_line"
    hardware=${node_line#NodeName=* }
    if [[ -f $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        die "$CONF exists and was not written by this script (a real cluster's?); leaving it alone. Set SLURM_CONF to another path to use this script"
    fi
    mkdir -p "$(dirname "$CONF")" "$DIR/state" "$DIR/spool" "$DIR/log"
    cat >"$CONF.tmp" <<EOF
$MARK (\`up\` rewrites it; \`down\` leaves it)
ClusterName=iftkit-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# no cgroups needed (containers, cgroup v1 or v2): processes are tracked through /proc
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# a job that asks for no memory gets its CPUs' share, so jobs of one CPU each run side by side
DefMemPerCPU=$((mem / cpus))
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.log
NodeName=$host NodeAddr=127.0.0.1 $hardware State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return  # a munged runs already (ours from an earlier `up`, or the machine's): use it
    fi
    [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- munged --pid-file="$MUNGE_PID"
    touch "$DIR/munged.ours"  # `down` stops only a munged that `up` started
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
    die "munged did not start (see /var/log/munge/munged.log)"
}

start_daemon() {  # name: starts it unless our pid file names a live one
    local name=$1
    if pid_alive "$DIR/$name.pid"; then
        return
    fi
    if pgrep -x "$name" >/dev/null; then
        die "a $name this script did not start runs already (pid $(pgrep -x "$name" | head -n 1)); stop it first"
    fi
    SLURM_CONF=$CONF "$name" || die "$name did not start; see $DIR/log/$name.log"
    for _ in $(seq 50); do pid_alive "$DIR/$name.pid" && return; sleep 0.1; done
    die "$name did not start; see $DIR/log/$name.log"
}

node_state() { SLURM_CONF=$CONF sinfo -h -N -o '%T' 2>/dev/null | head -n 1; }

up() {
    need_root up
    install_packages
    mkdir -p "$DIR"
    write_conf
    start_munge
    start_daemon slurmctld
    start_daemon slurmd
    local state=""
    for _ in $(seq 300); do
        state=$(node_state)
        case $state in
            idle | mixed | allocated | completing) break ;;
            drained | draining | down | down\*) # left so by an earlier session (a test's drain, a restart)
                SLURM_CONF=$CONF scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
        esac
        sleep 0.2
    done
    case $state in
        idle | mixed | allocated | completing) ;;
        *) die "the node is '$state' after 60 s; see $DIR/log/slurmd.log and slurmctld.log" ;;
    esac
    echo "slurm up: node $(hostname -s) ($(SLURM_CONF=$CONF sinfo -h -N -o '%c CPUs, %m MB'), $state); config $CONF"
}

status() {
    local rc=0 name
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        echo "munged: running$([[ -e $DIR/munged.ours ]] && echo " (pid $(cat "$MUNGE_PID"), started by up)")"
    else
        echo "munged: not running"; rc=3
    fi
    for name in slurmctld slurmd; do
        if pid_alive "$DIR/$name.pid"; then
            echo "$name: running (pid $(cat "$DIR/$name.pid"))"
        else
            echo "$name: not running"; rc=3
        fi
    done
    if [[ $rc == 0 ]]; then
        SLURM_CONF=$CONF sinfo -N -l
        SLURM_CONF=$CONF squeue
    fi
    return $rc
}

stop_pid() {  # pid file: SIGTERM, then wait for the process to go
    local file=$1 pid
    pid_alive "$file" || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    kill "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && die "pid $pid ($file) did not stop within 10 s"
    rm -f "$file"
}

down() {
    need_root down
    stop_pid "$DIR/slurmd.pid"
    stop_pid "$DIR/slurmctld.pid"
    if [[ -e $DIR/munged.ours ]]; then
        stop_pid "$MUNGE_PID"
        rm -f "$DIR/munged.ours"
    fi
    echo "slurm down (config $CONF and state under $DIR kept)"
}

case ${1:-} in
    up) up ;;
    status) status ;;
    down) down ;;
    *) die "usage: $0 up|status|down" ;;
esac
