#!/usr/bin/env bash
# Submits a scripted, seeded workload to a running Slurm (the one SLURM_CONF points at, e.g.
# the local Slurm of local-slurm.sh), waits until every job has ended, and writes what FleetTwin
# needs to replay it and compare: the cluster's configuration and QOS table, its nodes, and
# what Slurm did.
#
#   bash Tests/Slurm/fidelity-workload.sh OUT [JOBS] [SEED]     # defaults: 60 jobs, seed 8
#
# OUT gets: plan.tsv (index, submit offset s, gpus, sleep s, limit min, partition, qos, job id),
# slurm.conf, qos.psv (sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime),
# sinfo.json, sacct.json (sacct --json over these jobs: one record per run). Then:
#
#   fleettwin import slurm-sacct OUT/sacct.json --out OUT/trace.jsonl
#   fleettwin import slurm-nodes OUT/sinfo.json --out OUT/fleet.yaml
#   fleettwin replay OUT/trace.jsonl --fleet OUT/fleet.yaml --policy slurm --placement best-fit \
#       --slurm-conf OUT/slurm.conf --slurm-qos OUT/qos.psv --compare-recorded
#
# The workload: jobs of 2-40 s of sleep on 1, 2, 4, 8 or 16 GPUs (16 = -N 2 --gres=gpu:8),
# time limits one or two minutes above their duration's minute (Slurm's limits are whole
# minutes), about one in eight in QOS high (which preempts normal by requeue), about one in
# six in partition high (PriorityTier 10), arrivals 0-4 s apart so that jobs queue, backfill
# and get preempted. The plan is drawn by awk from SEED, so one machine's plans repeat.
set -euo pipefail

OUT=${1:?usage: $0 OUT [JOBS] [SEED]}
JOBS=${2:-60}
SEED=${3:-8}
: "${SLURM_CONF:?SLURM_CONF must point at the running cluster's slurm.conf (source the local Slurm's env.sh)}"
mkdir -p "$OUT"

awk -v n="$JOBS" -v seed="$SEED" 'BEGIN {
    srand(seed); t = 0
    split("1 1 1 2 2 4 4 8 8 16", sizes, " ")
    for (i = 0; i < n; i++) {
        gpus = sizes[int(rand() * 10) + 1]
        sleep = 2 + int(rand() * 39)
        limit = int(sleep / 60) + 1 + int(rand() * 2)
        qos = (rand() < 0.125) ? "high" : "normal"
        part = (rand() < 0.17) ? "high" : "gpu"
        printf "%d\t%.2f\t%d\t%d\t%d\t%s\t%s\n", i, t, gpus, sleep, limit, part, qos
        t += rand() * 4
    }
}' >"$OUT/plan.raw"

start=$(date +%s.%N)
: >"$OUT/plan.tsv"
while IFS=$'\t' read -r i at gpus sleep limit part qos; do
    now=$(date +%s.%N)
    wait=$(awk -v s="$start" -v a="$at" -v n="$now" 'BEGIN { w = s + a - n; print (w > 0 ? w : 0) }')
    sleep "$wait"
    if [ "$gpus" -gt 8 ]; then shape=(-N $((gpus / 8)) --gres=gpu:8); else shape=(--gres=gpu:"$gpus"); fi
    id=$(sbatch --parsable -J "fid$i" -p "$part" --qos="$qos" --time="$limit" "${shape[@]}" \
        -o /dev/null -e /dev/null --wrap "sleep $sleep")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$i" "$at" "$gpus" "$sleep" "$limit" "$part" "$qos" "$id" >>"$OUT/plan.tsv"
done <"$OUT/plan.raw"
rm "$OUT/plan.raw"

ids=$(cut -f8 "$OUT/plan.tsv" | paste -sd, -)
# Every job ended: none left in the queue (a requeued job is PENDING again until it reruns).
for _ in $(seq 1 600); do
    [ -z "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ] && break
    sleep 1
done
[ -z "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ] || { echo "jobs still queued after 10 minutes" >&2; exit 1; }
# slurmdbd receives the last records asynchronously.
for _ in $(seq 1 30); do
    sacct --json -j "$ids" >"$OUT/sacct.json"
    ended=$(sacct -X -n -P -j "$ids" -o State | grep -cvE 'PENDING|RUNNING|REQUEUED' || true)
    [ "$ended" -ge "$JOBS" ] && break
    sleep 1
done
cp "$SLURM_CONF" "$OUT/slurm.conf"
sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime >"$OUT/qos.psv"
sinfo --json >"$OUT/sinfo.json"
echo "$OUT: $JOBS jobs submitted and ended in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }') s"
