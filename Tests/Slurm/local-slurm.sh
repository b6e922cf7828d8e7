#!/usr/bin/env bash
# A real Slurm 22.05 on this machine, for FleetTwin's Slurm tests: slurmctld, one slurmd per
# simulated node (`slurmd -N nX`, nodes sharing localhost on their own ports), GPUs declared in
# gres.conf over fake device files, munge with a private key and socket, slurmdbd on a private
# MariaDB (for sacct and QOS preemption), all as root in a temporary directory, no systemd.
# Facts and pitfalls this follows: ../shared/slurm/README.md (written by a feasibility probe).
#
#   bash Tests/Slurm/local-slurm.sh install      # Debian packages (about 10 s)
#   D=$(bash Tests/Slurm/local-slurm.sh start)   # prints the cluster's directory (about 8 s)
#   . "$D/env.sh"; sbatch --gres=gpu:2 --time=1 --wrap 'sleep 5'; squeue --json; sacct --json
#   bash Tests/Slurm/local-slurm.sh stop "$D"    # cancels every job, stops every daemon by PID
#
# Cluster: NODES x GPUS_PER_NODE (default 4 x 8), partitions `gpu` (default) and `high`
# (PriorityTier 10), QOS `normal` and `high` (preempts normal by REQUEUE), sched/backfill
# with short intervals, cred_expire 10 s (a requeued job is eligible again after 11 s).
# SLURMCTLD_DEBUG sets slurmctld's log level (default info); EXTRA_CONF holds more slurm.conf
# lines, appended as they are (keys the file does not set yet, for example
# EXTRA_CONF='DebugFlags=Backfill,SelectType'): to watch when the schedulers run.
# WITH_REST=1 also starts slurmrestd (openapi v0.0.38 and dbv0.0.38, JWT over TCP on
# 127.0.0.1:REST_PORT, run as nobody with SLURM_JWT=daemon; the controller and slurmdbd get
# AuthAltTypes=auth/jwt with a key of their own) and writes SLURM_LOCAL_REST_URL and a root
# token, SLURM_JWT, to env.sh; `install` with WITH_REST=1 installs slurmrestd.
set -euo pipefail

NODES=${NODES:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CTLD_PORT=${CTLD_PORT:-16817}
DBD_PORT=${DBD_PORT:-16819}
DB_PORT=${DB_PORT:-13306}
SLURMD_PORT0=${SLURMD_PORT0:-17001}
SLURMCTLD_DEBUG=${SLURMCTLD_DEBUG:-info}
EXTRA_CONF=${EXTRA_CONF:-}
WITH_REST=${WITH_REST:-0}
REST_PORT=${REST_PORT:-16820}

log() { echo "local-slurm: $*" >&2; }
# A failed start stops what it had started (by PID; it never cancels jobs, which could be
# another cluster's on the same ports) and leaves its directory for the logs.
die() {
    log "error: $*"
    if [ -n "${STARTING:-}" ] && [ -f "$D/pids" ]; then
        tac "$D/pids" | while read -r pid name; do kill -KILL "$pid" 2>/dev/null || true; done
        log "stopped what had started; logs in $D/log"
    fi
    exit 1
}

install() {
    local packages=(slurm-wlm slurmdbd munge mariadb-server)
    if [ "$WITH_REST" = 1 ]; then packages+=(slurmrestd slurm-wlm-jwt-plugin); fi
    if dpkg -s "${packages[@]}" >/dev/null 2>&1; then return; fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

# Starts CMD detached in its own session and records its PID (setsid makes $! the daemon).
spawn() {
    local name=$1; shift
    setsid "$@" >>"$D/log/$name.out" 2>&1 < /dev/null &
    echo "$! $name" >>"$D/pids"
}

# Waits up to $1 seconds for command $2... to succeed.
wait_for() {
    local limit=$1; shift
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then return 1; fi
        sleep 0.2
    done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_configs() {
    local last=$((SLURMD_PORT0 + NODES - 1))
    cat >"$D/etc/slurm.conf" <<EOF
# written by Tests/Slurm/local-slurm.sh
ClusterName=localgpu
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$D/run/munge.socket,cred_expire=10
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool/slurmd-%n
SlurmctldPidFile=$D/run/slurmctld.pid
SlurmdPidFile=$D/run/slurmd-%n.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd-%n.log
SlurmctldDebug=$SLURMCTLD_DEBUG
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=2,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=600
DefMemPerCPU=1024
GresTypes=gpu
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.txt
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$D/run/munge.socket
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
PriorityType=priority/multifactor
PriorityWeightQOS=10000
PriorityWeightAge=100
PreemptType=preempt/qos
PreemptMode=REQUEUE
NodeName=n[1-$NODES] NodeHostname=localhost NodeAddr=127.0.0.1 Port=$SLURMD_PORT0-$last CPUs=16 RealMemory=64000 Gres=gpu:$GPUS_PER_NODE State=UNKNOWN
PartitionName=gpu Nodes=ALL Default=YES DefaultTime=01:00:00 MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=high Nodes=ALL DefaultTime=01:00:00 MaxTime=INFINITE State=UP PriorityTier=10
EOF
    if [ -n "$EXTRA_CONF" ]; then printf '%s\n' "$EXTRA_CONF" >>"$D/etc/slurm.conf"; fi
    local jwt=""
    if [ "$WITH_REST" = 1 ]; then
        jwt="AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$D/jwt/jwt.key"
        printf '%s\n' "$jwt" >>"$D/etc/slurm.conf"
    fi
    cat >"$D/etc/gres.conf" <<EOF
AutoDetect=off
NodeName=n[1-$NODES] Name=gpu File=$D/fakedev/nvidia[0-$((GPUS_PER_NODE - 1))]
EOF
    cat >"$D/etc/slurmdbd.conf" <<EOF
AuthType=auth/munge
AuthInfo=socket=$D/run/munge.socket
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$D/run/slurmdbd.pid
LogFile=$D/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
$jwt
EOF
    chmod 600 "$D/etc/slurmdbd.conf"
    cat >"$D/env.sh" <<EOF
export SLURM_LOCAL_DIR=$D
export SLURM_CONF=$D/etc/slurm.conf
export SLURM_LOCAL_NODES=$NODES
export SLURM_LOCAL_GPUS_PER_NODE=$GPUS_PER_NODE
EOF
}

start() {
    local tools=(slurmctld slurmd slurmdbd munged mariadbd mariadb-install-db sacctmgr sinfo sdiag)
    if [ "$WITH_REST" = 1 ]; then tools+=(slurmrestd setpriv); fi
    for tool in "${tools[@]}"; do
        command -v "$tool" >/dev/null || die "$tool is missing: run '$0 install' first"
    done
    # The ports are fixed; another cluster on them would take this one's jobs.
    port_open "$CTLD_PORT" && die "port $CTLD_PORT is in use: another Slurm runs here (stop it, or set CTLD_PORT, DBD_PORT, DB_PORT, SLURMD_PORT0)"
    D=$(mktemp -d /tmp/fleettwin-slurm.XXXXXX)
    STARTING=1
    chmod 755 "$D"
    mkdir -p "$D"/{etc,run,log,state,fakedev,db}
    mkdir -m 700 "$D/munge-key"
    chmod 755 "$D/run"
    : >"$D/pids"
    for n in $(seq 1 "$NODES"); do mkdir -p "$D/spool/slurmd-n$n"; done
    # GPUs without a device file are dropped by slurmd; symlinks to /dev/null are accepted.
    for g in $(seq 0 $((GPUS_PER_NODE - 1))); do ln -s /dev/null "$D/fakedev/nvidia$g"; done
    write_configs
    export SLURM_CONF=$D/etc/slurm.conf
    if [ "$WITH_REST" = 1 ]; then
        mkdir -m 700 "$D/jwt"
        dd if=/dev/urandom of="$D/jwt/jwt.key" bs=32 count=1 status=none
        chmod 600 "$D/jwt/jwt.key"
    fi

    dd if=/dev/urandom of="$D/munge-key/munge.key" bs=1024 count=1 status=none
    chmod 400 "$D/munge-key/munge.key"
    spawn munged munged -F -f --key-file="$D/munge-key/munge.key" --socket="$D/run/munge.socket" \
        --pid-file="$D/run/munged.pid" --log-file="$D/log/munged.log" --seed-file="$D/run/munged.seed"
    wait_for 10 test -S "$D/run/munge.socket" || die "munged did not start (see $D/log)"

    mariadb-install-db --datadir="$D/db" --user=root --auth-root-authentication-method=normal >"$D/log/mariadb-install.out" 2>&1 \
        || die "mariadb-install-db failed (see $D/log/mariadb-install.out)"
    spawn mariadbd mariadbd --no-defaults --datadir="$D/db" --user=root --bind-address=127.0.0.1 --port="$DB_PORT" \
        --socket="$D/run/mysql.sock" --pid-file="$D/run/mariadbd.pid" --log-error="$D/log/mariadbd.log" \
        --innodb-buffer-pool-size=64M --skip-log-bin
    wait_for 30 test -S "$D/run/mysql.sock" || die "mariadbd did not start (see $D/log/mariadbd.log)"
    mariadb --no-defaults --socket="$D/run/mysql.sock" -uroot -e "
        CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw'; CREATE USER 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';" \
        || die "could not create the accounting database user"

    # slurmdbd reads slurmdbd.conf beside $SLURM_CONF; it has no -f.
    spawn slurmdbd slurmdbd -D
    wait_for 30 port_open "$DBD_PORT" || die "slurmdbd did not start (see $D/log/slurmdbd.log)"
    sacctmgr -i add cluster localgpu >/dev/null
    sacctmgr -i add qos high Priority=100 Preempt=normal PreemptMode=requeue >/dev/null
    sacctmgr -i modify user where name=root set qos=normal,high >/dev/null

    spawn slurmctld slurmctld -D -f "$D/etc/slurm.conf"
    wait_for 30 port_open "$CTLD_PORT" || die "slurmctld did not start (see $D/log/slurmctld.log)"
    for n in $(seq 1 "$NODES"); do spawn "slurmd-n$n" slurmd -D -N "n$n" -f "$D/etc/slurm.conf"; done
    idle() { [ "$(sinfo -h -N -t idle -o '%N' | sort -u | wc -l)" -eq "$NODES" ]; }
    wait_for 60 idle || die "the nodes did not become idle: $(sinfo -N 2>&1 | tr '\n' ' ') (see $D/log)"
    # Jobs submitted before the first main scheduling pass wait for it (about 3 s after start).
    scheduled() { sdiag | awk '/Main schedule statistics/ {m=1} m && /Total cycles:/ {exit !($3 >= 1)}'; }
    wait_for 30 scheduled || die "slurmctld never ran its first scheduling pass"
    if [ "$WITH_REST" = 1 ]; then
        # slurmrestd refuses to run as root; it passes each request's token on to slurmctld.
        spawn slurmrestd env SLURM_JWT=daemon SLURM_CONF="$D/etc/slurm.conf" setpriv --reuid=nobody --regid=nogroup --clear-groups \
            slurmrestd -a rest_auth/jwt -s openapi/v0.0.38,openapi/dbv0.0.38 "127.0.0.1:$REST_PORT"
        wait_for 30 port_open "$REST_PORT" || die "slurmrestd did not start (see $D/log/slurmrestd.out)"
        local token
        token=$(scontrol token username=root lifespan=86400) || die "scontrol token failed"
        printf 'export SLURM_LOCAL_REST_URL=http://127.0.0.1:%s\nexport %s\n' "$REST_PORT" "$token" >>"$D/env.sh"
    fi
    STARTING=
    echo "$D"
}

stop() {
    D=${1:-${SLURM_LOCAL_DIR:-}}
    [ -n "$D" ] && [ -f "$D/pids" ] || die "usage: $0 stop DIR (the directory 'start' printed)"
    export SLURM_CONF=$D/etc/slurm.conf
    scancel --quiet --user=root 2>/dev/null || true
    # Newest first: the slurmds and slurmctld before slurmdbd, the database and munge.
    tac "$D/pids" | while read -r pid name; do kill -TERM "$pid" 2>/dev/null || true; done
    local deadline=$((SECONDS + 15))
    while read -r pid name; do
        while kill -0 "$pid" 2>/dev/null; do
            if ((SECONDS >= deadline)); then log "$name ($pid) ignored SIGTERM: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; break; fi
            sleep 0.2
        done
    done <"$D/pids"
    rm -rf "$D"
}

case "${1:-}" in
install) install ;;
start) start ;;
stop) shift; stop "$@" ;;
*) die "usage: $0 install | start | stop DIR" ;;
esac
