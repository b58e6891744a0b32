//! `gradjit bench FILE`: compile time, steady-state time per call, throughput.
//!
//! Compilation is timed on a fresh compiler (no cache). The first call is reported apart: it
//! allocates the executable's memory pool. Steady state is measured in batches of calls, the
//! batch size doubled until a batch takes at least a millisecond (so the clock's resolution does
//! not matter), then batches are run until `--time` seconds have passed; the median, minimum
//! and mean of the per-call times over batches are reported. Throughput counts the bytes of the
//! arguments and outputs of one call.

use super::{differentiable_params, param_names, InputArgs};
use crate::engine::{self, Engine};
use crate::error::CliError;
use crate::inputs::{arguments, Missing};
use crate::program::Program;
use crate::report::{json_string, table};
use crate::Outcome;
use gradjit_codegen::{CompileOptions, Compiler};
use gradjit_ir::{Function, HostArray};
use std::time::{Duration, Instant};

/// Time compilation, steady-state calls and throughput of a function (or of its gradient)
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input)
    pub file: String,
    /// Time the gradient with respect to these parameters (names or positions), as jit(grad(f))
    #[arg(long, value_name = "LIST")]
    pub argnums: Option<String>,
    /// Inputs; parameters without one are drawn with random:SEED
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Seed of the inputs not given
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Seconds of steady-state measurement
    #[arg(long, default_value_t = 1.0)]
    pub time: f64,
    /// Threads for kernels and GEMMs (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
    /// Time the reference interpreter instead of compiled code
    #[arg(long)]
    pub interpret: bool,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

/// What was measured.
struct Timings {
    compile: Option<Duration>,
    first_call: Duration,
    median: Duration,
    min: Duration,
    mean: Duration,
    batches: usize,
    batch_size: usize,
    bytes_per_call: usize,
}

pub fn run(args: Args) -> Result<Outcome, CliError> {
    if !(args.time > 0.0 && args.time.is_finite()) {
        return Err(CliError::usage("--time must be a positive number of seconds"));
    }
    if args.threads == Some(0) {
        return Err(CliError::usage("--threads must be at least 1"));
    }
    let program = Program::load(&args.file)?;
    let (function, what) = match &args.argnums {
        Some(list) => {
            let wrt = differentiable_params(&program, Some(list), Vec::new)?;
            let g = gradjit_autodiff::grad(&program.function, &wrt).map_err(CliError::compute)?;
            (g, format!("gradient with respect to {}", param_names(&program, &wrt)))
        }
        None => (program.function.clone(), "function".to_string()),
    };
    let inputs = arguments(&program, &args.inputs.inputs, Missing::Random { seed: args.seed })?;
    let engine = Engine::from_flag(args.interpret);
    let t = measure(&function, &inputs.values, engine, args.threads, Duration::from_secs_f64(args.time))?;

    let per_s = |d: Duration| 1.0 / d.as_secs_f64().max(1e-12);
    let out = match args.json {
        true => {
            let compile = t.compile.map_or("null".to_string(), |d| format!("{:e}", d.as_secs_f64()));
            format!(
                "{{\n  \"file\": {},\n  \"engine\": \"{}\",\n  \"benchmarked\": {},\n  \"compile_s\": {compile},\n  \
                 \"first_call_s\": {:e},\n  \"median_s\": {:e},\n  \"min_s\": {:e},\n  \"mean_s\": {:e},\n  \
                 \"batches\": {},\n  \"batch_size\": {},\n  \"calls_per_s\": {:e},\n  \"bytes_per_call\": {},\n  \
                 \"bytes_per_s\": {:e}\n}}\n",
                json_string(&program.path),
                engine.name(),
                json_string(&what),
                t.first_call.as_secs_f64(),
                t.median.as_secs_f64(),
                t.min.as_secs_f64(),
                t.mean.as_secs_f64(),
                t.batches,
                t.batch_size,
                per_s(t.median),
                t.bytes_per_call,
                t.bytes_per_call as f64 * per_s(t.median),
            )
        }
        false => {
            let mut rows = Vec::new();
            if let Some(c) = t.compile {
                rows.push(vec!["compile".to_string(), duration(c)]);
            }
            rows.push(vec!["first call".to_string(), duration(t.first_call)]);
            rows.push(vec![
                "per call".to_string(),
                format!(
                    "{} median, {} min, {} mean ({} batches of {} calls)",
                    duration(t.median),
                    duration(t.min),
                    duration(t.mean),
                    t.batches,
                    t.batch_size
                ),
            ]);
            rows.push(vec![
                "throughput".to_string(),
                format!(
                    "{:.0} calls/s, {}/s ({} in and out per call)",
                    per_s(t.median),
                    bytes(t.bytes_per_call as f64 * per_s(t.median)),
                    bytes(t.bytes_per_call as f64)
                ),
            ]);
            format!("bench {}: {what}, {}\n{}", program.path, engine.name(), table(&rows, "  "))
        }
    };
    Ok(Outcome::ok(out))
}

/// One call of the benchmarked function.
type Call<'a> = Box<dyn Fn() -> Result<Vec<HostArray>, CliError> + 'a>;

fn measure(
    f: &Function,
    args: &[HostArray],
    engine: Engine,
    threads: Option<usize>,
    budget: Duration,
) -> Result<Timings, CliError> {
    let (call, compile): (Call, _) = match engine {
        Engine::Interpreter => (Box::new(|| Engine::Interpreter.run(f, args)), None),
        Engine::Native => {
            let compiler =
                Compiler::with_capacity(1).map_err(|e| CliError::compute(format!("no compiler for this host: {e}")))?;
            let start = Instant::now();
            let exe = compiler
                .compile(f, &CompileOptions { threads, ..CompileOptions::default() })
                .map_err(|e| CliError::compute(format!("cannot compile: {e}")))?;
            let compile = start.elapsed();
            (Box::new(move || engine::run_compiled(&exe, args)), Some(compile))
        }
    };
    let start = Instant::now();
    let outputs = call()?;
    let first_call = start.elapsed();
    let bytes_per_call = args.iter().chain(&outputs).map(|a| a.bytes().len()).sum();

    let run_batch = |n: usize| -> Result<Duration, CliError> {
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(call()?);
        }
        Ok(start.elapsed())
    };
    let mut batch_size = 1;
    while run_batch(batch_size)? < Duration::from_millis(1) && batch_size < 1 << 24 {
        batch_size *= 2;
    }
    let mut per_call = Vec::new();
    let begin = Instant::now();
    while per_call.len() < 3 || begin.elapsed() < budget {
        per_call.push(run_batch(batch_size)? / batch_size as u32);
    }
    per_call.sort();
    let mean = per_call.iter().sum::<Duration>() / per_call.len() as u32;
    Ok(Timings {
        compile,
        first_call,
        median: per_call[per_call.len() / 2],
        min: per_call[0],
        mean,
        batches: per_call.len(),
        batch_size,
        bytes_per_call,
    })
}

/// `3.21 µs`, `12.3 ms`.
fn duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    match s {
        s if s < 1e-6 => format!("{:.1} ns", s * 1e9),
        s if s < 1e-3 => format!("{:.2} µs", s * 1e6),
        s if s < 1.0 => format!("{:.2} ms", s * 1e3),
        s => format!("{s:.3} s"),
    }
}

/// `1.23 GB`, `4.0 KB` (decimal units, as bandwidth is quoted).
fn bytes(b: f64) -> String {
    match b {
        b if b < 1e3 => format!("{b:.0} B"),
        b if b < 1e6 => format!("{:.1} KB", b / 1e3),
        b if b < 1e9 => format!("{:.1} MB", b / 1e6),
        b => format!("{:.2} GB", b / 1e9),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale_with_magnitude() {
        assert_eq!(duration(Duration::from_nanos(250)), "250.0 ns");
        assert_eq!(duration(Duration::from_nanos(3_210)), "3.21 µs");
        assert_eq!(duration(Duration::from_micros(12_300)), "12.30 ms");
        assert_eq!(duration(Duration::from_millis(2_500)), "2.500 s");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(4096.0), "4.1 KB");
        assert_eq!(bytes(1.5e9), "1.50 GB");
    }
}
