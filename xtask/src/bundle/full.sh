#!/bin/sh
# The papers' full protocols on this machine's GPU, every part into one results folder, then their
# checks. Usage: ./full.sh [OUT] (default ./results). Run it again after an interruption to resume: a
# part finished by these binaries is skipped, an unfinished one continues from its checkpoints,
# snapshots and cached units. Beside the results, OUT/full/ holds each part's log, timings.tsv (part,
# seconds, exit status, revision per attempt), gpu.csv (nvidia-smi once a second, where it exists),
# graphs.json (reproduce --check-graphs: a small stack trained eagerly and replaying a CUDA graph; the
# parts replay graphs only where the two trained the same bits, and a part that fails with graphs is
# run once more without them) and verify.log. Exit status: 2 without a CUDA device (one line on
# stderr, nothing run), 1 when a part failed or a check is outside its tolerance, 0 otherwise.
set -eu

fail() {
    echo "full.sh: $*" >&2
    exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-results}
logs="$out/full"
mkdir -p "$logs" 2>/dev/null || fail "cannot create the folder $logs"
revision=$(cat "$here/REVISION" 2>/dev/null || echo unknown)

# The parts, listed only where libtorch sees a CUDA device: otherwise one line and nothing runs.
if ! "$here/run.sh" reproduce --require-cuda --list >"$logs/parts" 2>"$logs/check.err"; then
    fail "no GPU run: $(head -n 1 "$logs/check.err")"
fi
parts=$(cut -d ' ' -f 1 "$logs/parts")

# CUDA graphs where they train the weights eager steps train, bit for bit; otherwise none.
if "$here/run.sh" reproduce --check-graphs >"$logs/graphs.json" 2>"$logs/graphs.err"; then
    graphs=auto
    echo "full.sh: CUDA graphs train the eager steps' bits: $(cat "$logs/graphs.json")"
else
    graphs=off
    if [ -s "$logs/graphs.json" ]; then
        why="a graph trained other bits than eager steps: $(cat "$logs/graphs.json")"
    else
        why=$(head -n 1 "$logs/graphs.err")
    fi
    echo "full.sh: training without CUDA graphs (--graphs off): $why"
fi

if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 1 \
        >>"$logs/gpu.csv" 2>/dev/null &
    monitor=$!
    trap 'kill "$monitor" 2>/dev/null || true' EXIT
    trap 'exit 130' INT TERM
fi

# Runs part $1 with --graphs $2, appending its output to its log and a line to timings.tsv; the
# part's exit status goes to $logs/$1.status and its seconds to $seconds.
run_part() {
    echo "full.sh: $1 ..."
    start=$(date +%s)
    { "$here/run.sh" reproduce --full --require-cuda --graphs "$2" --only "$1" --out "$out" 2>&1 &&
        echo 0 >"$logs/$1.status" || echo "$?" >"$logs/$1.status"; } | tee -a "$logs/$1.log"
    seconds=$(($(date +%s) - start))
    printf '%s\t%s\t%s\t%s\n' "$1" "$seconds" "$(cat "$logs/$1.status")" "$revision" >>"$logs/timings.tsv"
}

failed=
for part in $parts; do
    # A part counts as finished only for the binaries that finished it.
    if [ "$(cat "$logs/$part.done" 2>/dev/null || true)" = "$revision" ]; then
        echo "full.sh: $part finished before, skipped"
        continue
    fi
    run_part "$part" "$graphs"
    # A part that fails with graphs gets one more try without them: it resumes from its checkpoints,
    # snapshots and cached units, and eager steps train the same bits (the check above).
    if [ "$(cat "$logs/$part.status")" -ne 0 ] && [ "$graphs" = auto ]; then
        echo "full.sh: $part failed with CUDA graphs; once more without them (--graphs off)"
        run_part "$part" off
    fi
    status=$(cat "$logs/$part.status")
    if [ "$status" -eq 0 ]; then
        echo "$revision" >"$logs/$part.done"
        echo "full.sh: $part done in $seconds s"
    else
        failed="$failed $part"
        echo "full.sh: $part failed (exit status $status) after $seconds s; its log is $logs/$part.log"
    fi
done

echo "full.sh: checks"
{ "$here/run.sh" reproduce --verify --full --out "$out" 2>&1 && echo 0 >"$logs/verify.status" ||
    echo "$?" >"$logs/verify.status"; } | tee "$logs/verify.log"
verified=$(cat "$logs/verify.status")
echo "full.sh: seconds per part (all attempts) in $logs/timings.tsv:"
cat "$logs/timings.tsv"
if [ -n "$failed" ]; then
    echo "full.sh: failed:$failed; run full.sh again to resume" >&2
    exit 1
fi
[ "$verified" -eq 0 ] || exit 1
