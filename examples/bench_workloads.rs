//! The gradjit side of scripts/bench_vs_jax.sh: runs one workload per process and prints JSON.
//!
//! ```text
//! bench_workloads list [--engine E]                     # one JSON line per workload
//! bench_workloads grads ID OUTDIR [--engine E]          # OUTDIR/ID.E.K.npy per gradient K
//! bench_workloads time ID [--engine E] [--budget S] [--compile-repeats K] [--compile-only]
//! bench_workloads bandwidth BYTES... [--threads T] [--budget S]
//! ```
//!
//! Engines: `jit` (`jit(grad(f))`), `codegen` (the traced gradient IR compiled by
//! gradjit-codegen), `interp` (`grad(f)` on the reference interpreter) and `hand` (hand-written
//! loops for W1 and W5). Timings follow scripts/bench_jax.py (see benches/workloads/measure.rs):
//! `compile` is the first call (trace, differentiate, simplify, compile, run), `steady` one
//! cached call. One process runs one workload, so its peak resident memory is that workload's.
//! An engine whose first calls are cold only once per process (`jit`) gives one compile sample
//! per process; `--compile-only` prints just the compile samples, for more processes.

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use workloads::engine::{by_name, BenchResult};
use workloads::measure::{status_mb, steady, Summary};
use workloads::{bandwidth, npy, workload, IDS};

/// `--name value` options after the positional arguments.
struct Options {
    positional: Vec<String>,
    engine: String,
    budget: Duration,
    compile_repeats: usize,
    compile_only: bool,
    threads: usize,
}

fn parse(args: Vec<String>) -> BenchResult<Options> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut o = Options {
        positional: Vec::new(),
        engine: "interp".into(),
        budget: Duration::from_secs_f64(1.5),
        compile_repeats: 5,
        compile_only: false,
        threads,
    };
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--engine" => o.engine = value("--engine")?,
            "--budget" => o.budget = Duration::from_secs_f64(value("--budget")?.parse()?),
            "--compile-repeats" => o.compile_repeats = value("--compile-repeats")?.parse()?,
            "--threads" => o.threads = value("--threads")?.parse()?,
            "--compile-only" => o.compile_only = true,
            _ if a.starts_with("--") => return Err(format!("unknown option {a}").into()),
            _ => o.positional.push(a),
        }
    }
    Ok(o)
}

fn find(id: &str) -> BenchResult<workloads::Workload> {
    workload(id).ok_or_else(|| format!("unknown workload {id:?}; known: {}", IDS.join(", ")).into())
}

/// One JSON line per workload; `skip` says why the engine does not run it, if it does not.
fn list(o: &Options) -> BenchResult<()> {
    let engine = by_name(&o.engine)?;
    for id in IDS {
        let w = workload(id).expect("IDS lists known workloads");
        let skip = engine.skip_reason(&w);
        let line = json!({"id": w.id, "name": w.name, "size": w.size, "min_bytes": w.min_bytes, "skip": skip});
        println!("{line}");
    }
    Ok(())
}

fn grads(o: &Options) -> BenchResult<()> {
    let [id, outdir] = &o.positional[..] else { return Err("grads takes ID OUTDIR".into()) };
    let w = find(id)?;
    let mut compiled = by_name(&o.engine)?.compile(&w)?;
    compiled.call()?;
    for (k, g) in compiled.outputs()?.iter().enumerate() {
        npy::save(&Path::new(outdir).join(format!("{id}.{}.{k}.npy", o.engine)), g)?;
    }
    Ok(())
}

fn time(o: &Options) -> BenchResult<()> {
    let [id] = &o.positional[..] else { return Err("time takes ID".into()) };
    let base = status_mb("VmRSS");
    let w = find(id)?;
    let engine = by_name(&o.engine)?;
    let mut compiles = Vec::with_capacity(o.compile_repeats);
    // Seconds per phase of each first call: "prepare" (Engine::compile), "first_run", and the
    // engine's own breakdown of "prepare".
    let mut phases: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut compiled = None;
    for i in 0..o.compile_repeats.max(1) {
        if i > 0 && !engine.forget() {
            break; // later first calls would not be cold: the runner's caller starts more processes
        }
        drop(compiled.take()); // the previous compilation is freed before the next one is timed
        let t0 = Instant::now();
        let mut c = engine.compile(&w)?;
        let t1 = Instant::now();
        c.call()?;
        compiles.push(t0.elapsed().as_secs_f64());
        phases.entry("prepare").or_default().push((t1 - t0).as_secs_f64());
        phases.entry("first_run").or_default().push(t1.elapsed().as_secs_f64());
        for (name, s) in c.phases() {
            phases.entry(name).or_default().push(s);
        }
        compiled = Some(c);
    }
    let ms = |v: &[f64]| v.iter().map(|s| s * 1e3).collect::<Vec<_>>();
    let phase_samples: serde_json::Map<String, serde_json::Value> =
        phases.iter().map(|(k, v)| (k.to_string(), json!(ms(v)))).collect();
    let phases: serde_json::Map<String, serde_json::Value> =
        phases.into_iter().map(|(k, v)| (k.to_string(), Summary::of_seconds(&v).to_json())).collect();
    let mut compiled = compiled.expect("compiled at least once");
    if o.compile_only {
        let line = json!({
            "id": id,
            "compile_samples_ms": ms(&compiles),
            "phase_samples_ms": phase_samples,
        });
        println!("{line}");
        return Ok(());
    }
    let (samples, batch) = steady(|| compiled.call(), o.budget)?;
    let line = json!({
        "id": id,
        "side": "gradjit",
        "engine": engine.name(),
        "compile_ms": Summary::of_seconds(&compiles).to_json(),
        "compile_phases_ms": phases,
        "compile_samples_ms": ms(&compiles),
        "phase_samples_ms": phase_samples,
        "steady_ms": Summary::of_seconds(&samples).to_json(),
        "batch": batch,
        "base_rss_mb": base,
        "peak_rss_mb": status_mb("VmHWM"),
    });
    println!("{line}");
    Ok(())
}

fn bandwidth(o: &Options) -> BenchResult<()> {
    for footprint in &o.positional {
        let b = bandwidth::measure(footprint.parse()?, o.threads, o.budget);
        let line = json!({
            "footprint": b.footprint,
            "threads": b.threads,
            "pass_ms": b.pass.to_json(),
            "best_gb_s": b.best_gb_s,
            "median_gb_s": b.median_gb_s,
        });
        println!("{line}");
    }
    Ok(())
}

fn main() -> BenchResult<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return Err("usage: bench_workloads list | grads ID OUTDIR | time ID | bandwidth BYTES...".into());
    }
    let command = args.remove(0);
    let o = parse(args)?;
    match command.as_str() {
        "list" => list(&o),
        "grads" => grads(&o),
        "time" => time(&o),
        "bandwidth" => bandwidth(&o),
        _ => Err(format!("unknown command {command:?}").into()),
    }
}
