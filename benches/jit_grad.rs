//! Criterion benchmarks of every workload of docs/benchmarks.md: `<id>/compile` (the first
//! call: trace, differentiate, simplify, compile, run), `<id>/steady` (one cached call) and
//! `dispatch_<name>/dispatch` (a cached call on inputs of size 1).
//!
//! `cargo bench --bench jit_grad [-- FILTER]`. The engine is chosen by `GRADJIT_BENCH_ENGINE`
//! (`codegen` by default, `interp` for the reference interpreter, `hand` for the hand-written
//! loops); each engine runs the workloads it
//! supports ([`Engine::skip_reason`]). The side-by-side
//! table with JAX comes from scripts/bench_vs_jax.sh, which times the same workloads
//! (benches/workloads/) in a process each.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::time::Duration;
use workloads::engine::{by_name, Engine};
use workloads::{workload, Workload, IDS};

/// The workloads `engine` runs.
fn selected(engine: &dyn Engine) -> Vec<Workload> {
    IDS.iter()
        .filter_map(|id| workload(id))
        .filter(|w| w.pending.is_none() && engine.skip_reason(w).is_none())
        .collect()
}

fn bench(engine: &dyn Engine, w: &Workload, c: &mut Criterion) {
    let dispatch = w.id.starts_with("dispatch");
    let mut group = c.benchmark_group(w.id);
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    if !dispatch {
        group.bench_function("compile", |b| {
            b.iter_batched(
                || engine.forget(),
                |()| {
                    let mut compiled = engine.compile(w).expect("compiles");
                    compiled.call().expect("runs");
                    compiled
                },
                BatchSize::PerIteration,
            )
        });
    }
    let mut compiled = engine.compile(w).expect("compiles");
    group.bench_function(if dispatch { "dispatch" } else { "steady" }, |b| b.iter(|| compiled.call().expect("runs")));
    group.finish();
}

fn benches(c: &mut Criterion) {
    let name = std::env::var("GRADJIT_BENCH_ENGINE").unwrap_or_else(|_| "codegen".into());
    let engine = by_name(&name).expect("GRADJIT_BENCH_ENGINE names an engine");
    for w in selected(engine.as_ref()) {
        bench(engine.as_ref(), &w, c);
    }
}

criterion_group!(jit_grad, benches);
criterion_main!(jit_grad);
