#!/usr/bin/env bash
# gradjit against JAX on the workloads of docs/benchmarks.md, in one run on this machine.
#
# Builds the gradjit runner (examples/bench_workloads.rs) in release mode, makes sure the pinned
# JAX environment .venv-ref/ exists (scripts/requirements-reference.txt, shared with
# scripts/gen_reference.py), then runs scripts/bench_report.py, which checks that both sides'
# gradients agree, times every workload pinned to one core and then on all cores, and writes
# docs/benchmarks.md and docs/benchmarks.svg.
#
# Usage: scripts/bench_vs_jax.sh [bench_report.py options]   (--help lists them)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

venv=".venv-ref"
requirements="scripts/requirements-reference.txt"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv/" >&2
    python3 -m venv "$venv"
fi
if [[ "$(cat "$venv/requirements.sha256" 2>/dev/null)" != "$want" ]]; then
    echo "installing $requirements" >&2
    "$venv/bin/python" -m pip install --quiet -r "$requirements"
    echo "$want" >"$venv/requirements.sha256"
fi

echo "building examples/bench_workloads.rs (release)" >&2
cargo build --quiet --release --example bench_workloads

exec "$venv/bin/python" scripts/bench_report.py run --runner target/release/examples/bench_workloads "$@"
