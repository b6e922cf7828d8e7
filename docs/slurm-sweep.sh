#!/usr/bin/env bash
# Run a FleetTwin sweep as a Slurm job array, then merge the shards.
#
#   sbatch --array=0-15 docs/slurm-sweep.sh Scenarios/example-sweep.yaml
#   # when the array has finished:
#   fleettwin merge sweep.sqlite sweep-shards/shard-*.sqlite
#
# Slurm gives each task SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT; `fleettwin sweep`
# reads both, runs the units k with k % COUNT == ID into its own SQLite file, and skips
# units already finished there, so a requeued task only does what is left.
#SBATCH --job-name=fleettwin-sweep
#SBATCH --cpus-per-task=2
#SBATCH --mem=8G
#SBATCH --time=01:00:00
#SBATCH --requeue
set -euo pipefail
sweep="${1:?usage: sbatch --array=0-N docs/slurm-sweep.sh SWEEP.yaml}"
mkdir -p sweep-shards
exec fleettwin sweep "$sweep" --db "sweep-shards/shard-${SLURM_ARRAY_TASK_ID}.sqlite"
