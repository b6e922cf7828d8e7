#!/usr/bin/env bash
# The `slurm` policy's speed: replays the Tiresias bench trace (../shared/traces/bench, 3,000
# jobs by default) on 8 and 32 nodes of 4 GPUs under `--policy slurm`, in three settings:
#   default  Slurm's defaults (priority/basic, backfill every 30 s); the trace as recorded
#   qos      preempt/qos by REQUEUE, multifactor QOS and age (the local Slurm's slurm.conf);
#            every 17th job in a QOS that preempts, every 23rd in a higher-tier partition,
#            time limits 1.2-2.8x the durations (none for every 11th job: DefaultTime)
#   factors  the schema fixture's slurm.conf (fair-share, job size, partition, QOS, age,
#            PriorityCalcPeriod 5 s) with 30/60 s intervals, a 30 s grace time; 13 users
# and prints, per case, the wall and user seconds and the event log hash. With OLD set to
# another fleettwin (one built from main: swift build -c release --scratch-path DIR), each
# case runs under both, one after the other, with the speed-up and whether the hashes match:
# a change that makes the policy faster must leave every hash as it was.
#
#   swift build -c release && bash Tests/Slurm/policy-bench.sh OUT
#   OLD=/tmp/old/release/fleettwin JOBS=1000 bash Tests/Slurm/policy-bench.sh OUT
# Needs python3 (to derive the qos/factors variants of the trace).
set -euo pipefail
OUT=${1:?usage: $0 OUT}
FLEETTWIN=${FLEETTWIN:-.build/release/fleettwin}
TRACES=${TRACES:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/traces}
JOBS=${JOBS:-3000}
OLD=${OLD:-}
[ -x "$FLEETTWIN" ] || { echo "no $FLEETTWIN: swift build -c release first (or set FLEETTWIN)" >&2; exit 2; }
[ -f "$TRACES/bench/tiresias_3000.csv" ] || { echo "no $TRACES/bench/tiresias_3000.csv (set TRACES)" >&2; exit 2; }
mkdir -p "$OUT"
FLEETTWIN=$(cd "$(dirname "$FLEETTWIN")" && pwd)/$(basename "$FLEETTWIN")
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$OUT"

"$FLEETTWIN" import tiresias "$TRACES/bench/tiresias_3000.csv" --out full.jsonl >/dev/null
head -n $((JOBS + 1)) full.jsonl > default.jsonl
for n in 8 32; do "$FLEETTWIN" import tiresias-cluster "$TRACES/tiresias/n${n}g4.csv" --out "n${n}g4.yaml" >/dev/null; done
python3 - default.jsonl qos.jsonl factors.jsonl <<'EOF'
import json, math, sys
lines = open(sys.argv[1]).read().splitlines()
for out in sys.argv[2:]:
    rows = [lines[0]]
    for line in lines[1:]:
        j = json.loads(line); i = int(j['id'])
        j['user'] = 'u%d' % (i % 13)
        j['qos'] = 'high' if i % 17 == 0 else 'normal'
        if i % 23 == 0: j['partition'] = 'high'
        if i % 11 != 0: j['timeLimit'] = math.ceil(j['steps'] * j['stepTime'] * (1.2 + (i % 5) * 0.4)) + 60
        rows.append(json.dumps(j, separators=(',', ':')))
    open(out, 'w').write('\n'.join(rows) + '\n')
EOF
cat > qos.conf <<'EOF'
SchedulerType=sched/backfill
PriorityType=priority/multifactor
PriorityWeightQOS=10000
PriorityWeightAge=100
PreemptType=preempt/qos
PreemptMode=REQUEUE
AuthInfo=cred_expire=10
PartitionName=gpu Nodes=ALL Default=YES DefaultTime=01:00:00 MaxTime=INFINITE PriorityTier=1
PartitionName=high Nodes=ALL DefaultTime=01:00:00 MaxTime=INFINITE PriorityTier=10
EOF
printf 'Name|Priority|Preempt|PreemptMode|GraceTime\nnormal|0||cluster|00:00:00\nhigh|100|normal|requeue|00:00:00\n' > qos.psv
sed -e 's/bf_interval=2,sched_interval=2,bf_resolution=10,bf_window=60,bf_max_job_test=100/bf_interval=30,sched_interval=60,bf_resolution=60,bf_window=1440,bf_max_job_test=200/' \
    "$root/Tests/FleetTwinTests/Fixtures/schema/slurm.conf" > factors.conf
printf 'Name|Priority|Preempt|PreemptMode|GraceTime\nnormal|0||cluster|00:00:30\nhigh|100|normal|requeue|00:00:00\n' > factors.psv

# One replay: prints "wall user hash".
replay() {
    local binary=$1 setting=$2 fleet=$3 args=()
    [ "$setting" = default ] || args=(--slurm-conf "$setting.conf" --slurm-qos "$setting.psv")
    local start end hash
    start=$(date +%s.%N)
    hash=$(/usr/bin/time -f %U -o time.txt "$binary" replay "$setting.jsonl" --fleet "$fleet.yaml" --policy slurm "${args[@]}" \
        --json --quiet --db replay.sqlite 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["eventLogHash"])')
    end=$(date +%s.%N)
    rm -f replay.sqlite*
    echo "$(python3 -c "print('%.2f' % ($end - $start))") $(cat time.txt) $hash"
}

echo "jobs=$JOBS $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
for setting in default qos factors; do
    for fleet in n8g4 n32g4; do
        read -r wall user hash < <(replay "$FLEETTWIN" $setting $fleet)
        line="$setting $fleet: new ${wall}s wall ${user}s user hash $hash"
        if [ -n "$OLD" ]; then
            read -r owall ouser ohash < <(replay "$OLD" $setting $fleet)
            same=$([ "$hash" = "$ohash" ] && echo same || echo DIFFERENT)
            line="$line | old ${owall}s wall ${ouser}s user hash $ohash ($same) | x$(python3 -c "print('%.1f' % ($ouser / max($user, 0.01)))") user time"
        fi
        echo "$line"
    done
done
