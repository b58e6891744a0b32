//! Criterion benchmarks of every workload of docs/benchmarks.md: `<id>/compile` (the first
//! call: trace, differentiate, simplify, compile, run), `<id>/steady` (one cached call) and
//! `dispatch_<name>/dispatch` (a cached call on inputs of size 1).
//!
//! `cargo bench --bench jit_grad [-- FILTER]`. `GRADJIT_BENCH_ENGINE` chooses the engine: `jit`
//! (`jit(grad(f))`, the default), `codegen` (the traced gradient IR compiled directly), `interp`
//! (`grad(f)` on the reference interpreter) or `hand` (the hand-written loops); each engine runs
//! the workloads it supports ([`Engine::skip_reason`]).
//!
//! A first call is cold only once per process for `jit` (compiled code is cached process-wide),
//! so its `compile` benchmark times the `codegen` engine's cold first call, which does the same
//! work; scripts/bench_vs_jax.sh measures `jit`'s own first call, one per process, beside JAX.

#[path = "workloads/mod.rs"]
mod workloads;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::time::Duration;
use workloads::engine::{by_name, Engine};
use workloads::{workload, Workload, IDS};

/// The workloads `engine` runs.
fn selected(engine: &dyn Engine) -> Vec<Workload> {
    IDS.iter().filter_map(|id| workload(id)).filter(|w| engine.skip_reason(w).is_none()).collect()
}

/// `engine`, and the engine whose cold first calls stand for its own.
fn bench(engine: &dyn Engine, cold: &dyn Engine, w: &Workload, c: &mut Criterion) {
    let dispatch = w.id.starts_with("dispatch");
    let mut group = c.benchmark_group(w.id);
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    if !dispatch {
        group.bench_function("compile", |b| {
            b.iter_batched(
                || cold.forget(),
                |_| {
                    let mut compiled = cold.compile(w).expect("compiles");
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
    let name = std::env::var("GRADJIT_BENCH_ENGINE").unwrap_or_else(|_| "jit".into());
    let engine = by_name(&name).expect("GRADJIT_BENCH_ENGINE names an engine");
    let cold = if engine.forget() { None } else { Some(by_name("codegen").expect("the codegen engine")) };
    for w in selected(engine.as_ref()) {
        bench(engine.as_ref(), cold.as_deref().unwrap_or(engine.as_ref()), &w, c);
    }
}

criterion_group!(jit_grad, benches);
criterion_main!(jit_grad);
