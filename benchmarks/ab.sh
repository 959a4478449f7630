#!/usr/bin/env bash
# A/B a benchmark between an older commit and the working tree, alternating runs
# so both versions see the same moments of a noisy shared machine.
#
#   benchmarks/ab.sh REF ROUNDS -- benchmarks/search_latency.py --sizes 100000 ...
#
# The older code runs from a git worktree through PYTHONPATH (the same venv and
# the same benchmark script); it gets its own model cache (an older export
# format would otherwise be re-exported back and forth) and shares the stores.
set -euo pipefail
ref=${1:?usage: ab.sh REF ROUNDS -- SCRIPT ARGS...}; rounds=${2:?}; shift 2; [ "$1" = "--" ] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${MEMORYD_BENCH_CACHE:-$HOME/.cache/memoryd-bench}
old_tree=$(mktemp -d /tmp/memoryd-ab-XXXX); old_cache="$old_tree.cache"
git -C "$root" worktree add -q --detach "$old_tree" "$ref"
trap 'git -C "$root" worktree remove --force "$old_tree"' EXIT
mkdir -p "$old_cache" "$cache/stores" "$cache/data"; ln -sfn "$cache/stores" "$old_cache/stores"; ln -sfn "$cache/data" "$old_cache/data"
for round in $(seq "$rounds"); do
  echo "=== round $round: $ref ($(uptime))"
  PYTHONPATH="$old_tree/src" MEMORYD_BENCH_CACHE="$old_cache" "$root/.venv/bin/python" "$@"
  echo "=== round $round: working tree ($(uptime))"
  MEMORYD_BENCH_CACHE="$cache" "$root/.venv/bin/python" "$@"
done
