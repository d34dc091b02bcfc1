#!/bin/sh
# Submits `reproduce` as Slurm job arrays: SHARDS shards of stage 0, SHARDS of stage 1 once stage 0 has
# succeeded (Table 1's phase 2 trains at the rates its phase-1 sweep chose), then the merging job.
# Run it from the checkout (or the bundle's folder) on the cluster's login node:
#   SHARDS=40 OUT=/shared/results sh examples/slurm/submit-full.sh
# REPRODUCE, OUT and ARGS (default --full) reach the jobs through sbatch's environment.
set -eu
SHARDS=${SHARDS:-40}
here=$(dirname "$0")
stage0=$(sbatch --parsable --array=0-$((SHARDS - 1)) "$here/shard.sbatch" 0)
stage1=$(sbatch --parsable --array=0-$((SHARDS - 1)) --dependency=afterok:"$stage0" \
    --kill-on-invalid-dep=yes "$here/shard.sbatch" 1)
merge=$(sbatch --parsable --dependency=afterok:"$stage1" --kill-on-invalid-dep=yes "$here/merge.sbatch")
echo "stage 0: job $stage0, stage 1: job $stage1, merge: job $merge"
