#!/usr/bin/env bash
# The Slurm fidelity benchmark: for each SEED, a 60-job scripted workload on the local Slurm
# (fidelity-workload.sh), imported and replayed under FleetTwin's `slurm` policy with the
# cluster's own configuration; prints the schedule fidelity (per-job start-time errors,
# makespan, mean wait, start order, backfill and preemption decisions). About 4 minutes a seed.
#
# With REPEAT=1 each seed's workload is submitted a second time (OUT/seedN-again) and the two
# real runs are compared with `fleettwin repeatability`: how far the real Slurm is from
# itself, the floor for the twin's figures. About 8 minutes a seed then.
#
# With PHASES="0.25s 0.75s" (durations from 0s to below 1s) each seed is replayed again with the
# backfill thread's first cycle at each of those instants (`replay --slurm-backfill-phase`):
# sacct's whole seconds do not show the real phase, so the spread over phases is the part of
# the error the twin cannot know. Seconds per phase.
#
#   D=$(bash Tests/Slurm/local-slurm.sh start); . $D/env.sh
#   swift build -c release && bash Tests/Slurm/fidelity-bench.sh OUT 8 11
#   bash Tests/Slurm/local-slurm.sh stop $D
set -euo pipefail
OUT=${1:?usage: $0 OUT SEED...}
shift
FLEETTWIN=${FLEETTWIN:-.build/release/fleettwin}
[ -x "$FLEETTWIN" ] || { echo "no $FLEETTWIN: swift build -c release first (or set FLEETTWIN)" >&2; exit 2; }
for seed in "${@:-8}"; do
    run="$OUT/seed$seed"
    bash "$(dirname "$0")/fidelity-workload.sh" "$run" 60 "$seed"
    "$FLEETTWIN" import slurm-sacct "$run/sacct.json" --out "$run/trace.jsonl" >/dev/null
    "$FLEETTWIN" import slurm-nodes "$run/sinfo.json" --out "$run/fleet.yaml" >/dev/null
    echo "== seed $seed"
    "$FLEETTWIN" replay "$run/trace.jsonl" --fleet "$run/fleet.yaml" --policy slurm --placement best-fit \
        --slurm-conf "$run/slurm.conf" --slurm-qos "$run/qos.psv" --compare-recorded --db "$run/replay.sqlite" \
        | sed -n '/^schedule fidelity/,/^$/p'
    for phase in ${PHASES:-}; do
        echo "== seed $seed, backfill phase $phase"
        "$FLEETTWIN" replay "$run/trace.jsonl" --fleet "$run/fleet.yaml" --policy slurm --placement best-fit \
            --slurm-conf "$run/slurm.conf" --slurm-qos "$run/qos.psv" --compare-recorded --db "$run/replay.sqlite" \
            --slurm-backfill-phase "$phase" | sed -n '/^schedule fidelity/,/^$/p'
    done
    if [ "${REPEAT:-0}" = 1 ]; then
        again="$OUT/seed$seed-again"
        bash "$(dirname "$0")/fidelity-workload.sh" "$again" 60 "$seed"
        "$FLEETTWIN" import slurm-sacct "$again/sacct.json" --out "$again/trace.jsonl" >/dev/null
        echo "== seed $seed: the real Slurm against itself (second run in place of the simulation)"
        "$FLEETTWIN" repeatability "$run/trace.jsonl" "$again/trace.jsonl" | sed -n '/^schedule fidelity/,/^$/p'
    fi
done
