//! `gradjit check FILE`: are the gradients right, and does the compiled code agree with the
//! interpreter?
//!
//! **Gradients against finite differences.** The checked quantity is a real scalar `L`:
//! output 0 if it is a real scalar (a loss; other outputs are auxiliary), the real part of
//! output 0 if it is a complex scalar, and otherwise `Σ_k Re ⟨c_k, out_k⟩` over the inexact
//! outputs with fixed random cotangents `c_k`, which checks the whole VJP as JAX's `check_vjp`
//! does. `L` is rewritten to f64 ([`crate::promote`]), differentiated by autodiff, and
//! compared with central differences `(L(x+h) - L(x-h)) / 2h`, `h = eps·max(1, |x|)`, for every
//! element of every differentiated input (a random sample of `--max-elements` of them for large
//! inputs). For a complex input the expected gradient is `∂L/∂Re x - i ∂L/∂Im x` (JAX's
//! convention). An element fails when `|ad - fd| > atol + rtol·|fd|`.
//!
//! **Compiled against interpreted.** The function and its gradient, in their own dtypes, run
//! natively and in the interpreter; floating outputs must agree within `rtol` of each element or
//! of the output's largest magnitude (reductions and GEMMs sum in another order), and integer
//! and boolean outputs exactly.
//!
//! The exit code is 1 if anything is beyond tolerance.

use super::{differentiable_params, param_names, InputArgs};
use crate::engine::Engine;
use crate::error::{CliError, EXIT_CHECK_FAILED};
use crate::inputs::{arguments, random, Missing};
use crate::program::Program;
use crate::promote::{self, widen};
use crate::report::{json_string, table};
use crate::rng::Rng;
use crate::Outcome;
use gradjit_ir::prim::{Axes, Literal, ReduceOp, UnaryOp};
use gradjit_ir::{interp, BinaryOp, Function, HostArray, Prim, Scalar, Value};
use num_complex::Complex64;
use std::sync::Arc;

/// Check gradients against central finite differences (in f64) and compiled code against the interpreter
#[derive(clap::Args)]
pub struct Args {
    /// IR text file (`-` for standard input)
    pub file: String,
    /// Parameters to check, by name or position, comma-separated [default: every float or complex one]
    #[arg(long, value_name = "LIST")]
    pub argnums: Option<String>,
    /// Inputs; parameters without one are drawn with random:SEED
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Seed of the inputs not given, of the cotangents and of the sampled elements
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Relative step of the finite differences: h = eps * max(1, |x|)
    #[arg(long, default_value = "1e-6")]
    pub eps: f64,
    /// Relative tolerance of the gradient comparison
    #[arg(long, default_value = "1e-5")]
    pub rtol: f64,
    /// Absolute tolerance of the gradient comparison
    #[arg(long, default_value = "1e-7")]
    pub atol: f64,
    /// Relative tolerance of the compiled-vs-interpreter comparison [default: 1e-4 for f32 and c64, 1e-10 for f64 and c128]
    #[arg(long, value_name = "RTOL")]
    pub compiled_rtol: Option<f64>,
    /// Check at most this many elements of each input (a random sample of larger ones)
    #[arg(long, default_value_t = 64)]
    pub max_elements: usize,
    /// Only check gradients; skip the compiled-vs-interpreter comparison
    #[arg(long)]
    pub interpret: bool,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

/// The errors found for one input or output.
struct Row {
    name: String,
    ty: String,
    /// `3 of 10` elements checked.
    checked: String,
    max_abs: f64,
    max_rel: f64,
    ok: bool,
}

pub fn run(args: Args) -> Result<Outcome, CliError> {
    let program = Program::load(&args.file)?;
    let f = &program.function;
    if !(args.eps > 0.0 && args.rtol >= 0.0 && args.atol >= 0.0) {
        return Err(CliError::usage("--eps must be positive and --rtol, --atol non-negative"));
    }
    let wrt = differentiable_params(&program, args.argnums.as_deref(), || {
        (0..f.params.len()).filter(|&p| program.param_type(p).dtype.is_inexact()).collect()
    })?;
    if wrt.is_empty() {
        return Err(CliError::usage(format!("{} has no floating-point parameters to check", program.path)));
    }
    let inputs = arguments(&program, &args.inputs.inputs, Missing::Random { seed: args.seed })?;
    let (loss, what) = objective(&program, args.seed)?;

    let gradient_rows = gradients_vs_differences(&program, &loss, &wrt, &inputs.values, &args)?;
    let compiled_rows = match args.interpret {
        true => Vec::new(),
        false => compiled_vs_interpreted(&program, &loss, &wrt, &inputs.values, args.compiled_rtol)?,
    };
    let ok = gradient_rows.iter().chain(&compiled_rows).all(|r| r.ok);

    let out = match args.json {
        true => json_report(&program, &what, &gradient_rows, &compiled_rows, ok),
        false => {
            let given: Vec<String> =
                program.param_names.iter().zip(&inputs.specs).map(|(n, s)| format!("{n}={s}")).collect();
            let mut out = format!(
                "checking {}: gradient of {what} with respect to {}\ninputs: {}\n\n",
                program.path,
                param_names(&program, &wrt),
                given.join(" ")
            );
            out.push_str(&format!(
                "autodiff vs central differences (f64, h = {:e}·max(1,|x|), rtol {:e}, atol {:e}):\n",
                args.eps, args.rtol, args.atol
            ));
            out.push_str(&rows_table("input", &gradient_rows));
            if !args.interpret {
                out.push_str("\ncompiled vs interpreter:\n");
                out.push_str(&rows_table("output", &compiled_rows));
            }
            out.push_str(match ok {
                true => "\nok: every error is within tolerance\n",
                false => "\nFAILED: some errors are beyond tolerance\n",
            });
            out
        }
    };
    Ok(Outcome { stdout: out, code: if ok { 0 } else { EXIT_CHECK_FAILED } })
}

/// The real scalar function whose gradient is checked, and a description of it.
fn objective(program: &Program, seed: u64) -> Result<(Function, String), CliError> {
    let f = &program.function;
    let mut g = f.clone();
    let shape_err = |e: gradjit_ir::ShapeError| CliError::compute(format!("cannot build the checked function: {e}"));
    let first = f.outputs.first().map(|&o| f.ty(o).clone());
    let (loss, what) = match first {
        Some(ty) if ty.rank() == 0 && ty.dtype.is_float() => {
            (f.outputs[0], format!("output `{}` ({ty})", program.output_names[0]))
        }
        Some(ty) if ty.rank() == 0 && ty.dtype.is_complex() => {
            let re = g.push1(Prim::Unary(UnaryOp::Real), &[f.outputs[0]], None).map_err(shape_err)?;
            (re, format!("the real part of output `{}` ({ty})", program.output_names[0]))
        }
        _ => {
            // Σ_k Re <c_k, out_k>: a random projection of every inexact output.
            let mut total: Option<Value> = None;
            let mut names = Vec::new();
            for (k, &o) in f.outputs.iter().enumerate() {
                let ty = f.ty(o).clone();
                if !ty.dtype.is_inexact() {
                    continue;
                }
                names.push(format!("`{}`", program.output_names[k]));
                let ct = random(&ty, seed, 1000 + k as u64);
                let c = g.push1(Prim::Constant(Literal::Dense(Arc::new(ct))), &[], None).map_err(shape_err)?;
                let mut term = g.push1(Prim::Binary(BinaryOp::Mul), &[c, o], None).map_err(shape_err)?;
                if ty.rank() > 0 {
                    let axes: Axes = (0..ty.rank()).collect();
                    term = g.push1(Prim::Reduce { op: ReduceOp::Sum, axes }, &[term], None).map_err(shape_err)?;
                }
                if ty.dtype.is_complex() {
                    term = g.push1(Prim::Unary(UnaryOp::Real), &[term], None).map_err(shape_err)?;
                }
                total = Some(match total {
                    None => term,
                    Some(t) => g.push1(Prim::Binary(BinaryOp::Add), &[t, term], None).map_err(shape_err)?,
                });
            }
            let Some(total) = total else {
                return Err(CliError::compute(format!(
                    "{} has no floating-point outputs to differentiate",
                    program.path
                )));
            };
            (total, format!("Σ <random cotangent, output> over outputs {} (a VJP check)", names.join(", ")))
        }
    };
    g.outputs = vec![loss];
    Ok((g, what))
}

/// Autodiff in f64 against central differences in f64, one row per input in `wrt`.
fn gradients_vs_differences(
    program: &Program,
    loss: &Function,
    wrt: &[usize],
    args32: &[HostArray],
    args: &Args,
) -> Result<Vec<Row>, CliError> {
    let loss64 = promote::to_f64(loss).map_err(|e| CliError::compute(format!("cannot promote to f64: {e}")))?;
    let args64: Vec<HostArray> = args32.iter().map(|a| a.cast(widen(a.dtype()))).collect();
    let grad64 = gradjit_autodiff::grad(&loss64, wrt).map_err(CliError::compute)?;
    let results = interp::run(&grad64, &args64).map_err(|e| CliError::compute(format!("interpreter: {e}")))?;
    let eval = |xs: &[HostArray]| -> Result<f64, CliError> {
        let out = interp::run(&loss64, xs).map_err(|e| CliError::compute(format!("interpreter: {e}")))?;
        Ok(out[0].get(0).to_f64())
    };

    let mut rows = Vec::new();
    let mut rng = Rng::new(args.seed, 2000);
    for (slot, &p) in wrt.iter().enumerate() {
        let x = &args64[p];
        let ad = &results[1 + slot];
        let elements = rng.sample(x.numel(), args.max_elements);
        let (mut max_abs, mut max_rel, mut ok) = (0.0f64, 0.0f64, true);
        let mut xs = args64.clone();
        for &i in &elements {
            let x0 = x.get(i).to_c128();
            // ∂L/∂Re x_i, then ∂L/∂Im x_i for complex inputs.
            let mut partial = |direction: Complex64| -> Result<f64, CliError> {
                let h = args.eps * (if direction.re != 0.0 { x0.re } else { x0.im }).abs().max(1.0);
                xs[p].set(i, Scalar::C128(x0 + direction * h).cast(x.dtype()));
                let plus = eval(&xs)?;
                xs[p].set(i, Scalar::C128(x0 - direction * h).cast(x.dtype()));
                let minus = eval(&xs)?;
                xs[p].set(i, x.get(i));
                Ok((plus - minus) / (2.0 * h))
            };
            let fd = match x.dtype().is_complex() {
                true => Complex64::new(partial(Complex64::new(1.0, 0.0))?, -partial(Complex64::new(0.0, 1.0))?),
                false => Complex64::new(partial(Complex64::new(1.0, 0.0))?, 0.0),
            };
            let got = ad.get(i).to_c128();
            let abs = (got - fd).norm();
            let scale = got.norm().max(fd.norm());
            let rel = if scale > 0.0 { abs / scale } else { 0.0 };
            // NaN errors fail: `!(abs <= tol)`.
            ok &= abs <= args.atol + args.rtol * fd.norm();
            max_abs = max_abs.max(abs);
            max_rel = max_rel.max(rel);
            if abs.is_nan() {
                (max_abs, max_rel) = (f64::NAN, f64::NAN);
            }
        }
        rows.push(Row {
            name: program.param_names[p].clone(),
            ty: program.param_type(p).to_string(),
            checked: format!("{} of {}", elements.len(), x.numel()),
            max_abs,
            max_rel,
            ok,
        });
    }
    Ok(rows)
}

/// The function and its gradient, compiled against interpreted, one row per output.
fn compiled_vs_interpreted(
    program: &Program,
    loss: &Function,
    wrt: &[usize],
    args: &[HostArray],
    rtol: Option<f64>,
) -> Result<Vec<Row>, CliError> {
    let grad_fn = gradjit_autodiff::grad(loss, wrt).map_err(CliError::compute)?;
    let mut functions: Vec<(&Function, Vec<String>)> = vec![(&program.function, program.output_names.clone())];
    // Output 0 of the gradient function is the checked objective's value.
    let mut grad_names = vec!["value in grad fn".to_string()];
    grad_names.extend(wrt.iter().map(|&p| format!("grad_{}", program.param_names[p])));
    functions.push((&grad_fn, grad_names));
    let mut rows = Vec::new();
    for (f, names) in functions {
        let want = Engine::Interpreter.run(f, args)?;
        let got = Engine::Native.run(f, args)?;
        for ((name, w), g) in names.into_iter().zip(&want).zip(&got) {
            let default_rtol =
                if w.dtype() == gradjit_ir::DType::F64 || w.dtype() == gradjit_ir::DType::C128 { 1e-10 } else { 1e-4 };
            rows.push(compare(name, w, g, rtol.unwrap_or(default_rtol)));
        }
    }
    Ok(rows)
}

/// One row comparing a compiled output `got` with the interpreter's `want`.
fn compare(name: String, want: &HostArray, got: &HostArray, rtol: f64) -> Row {
    let ty = want.ty().to_string();
    let checked = format!("{} of {}", want.numel(), want.numel());
    if want.ty() != got.ty() {
        let ty = format!("{ty} vs {}", got.ty());
        return Row { name, ty, checked, max_abs: f64::NAN, max_rel: f64::NAN, ok: false };
    }
    let exact = !want.dtype().is_inexact();
    let largest = want.scalars().map(|s| s.to_c128().norm()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    let (mut max_abs, mut max_rel, mut ok) = (0.0f64, 0.0f64, true);
    for (w, g) in want.scalars().zip(got.scalars()) {
        let (w, g) = (w.to_c128(), g.to_c128());
        let same_special = (w.re.is_nan() && g.re.is_nan()) || (w == g);
        let abs = if same_special { 0.0 } else { (w - g).norm() };
        let scale = w.norm().max(g.norm());
        let rel = if abs == 0.0 { 0.0 } else { abs / scale };
        ok &= match exact {
            true => abs == 0.0,
            false => abs <= rtol * w.norm().max(largest),
        };
        max_abs = max_abs.max(abs);
        max_rel = max_rel.max(rel);
    }
    Row { name, ty, checked, max_abs, max_rel, ok }
}

/// `3.10e-11`, or `0` for an exact match.
fn error(e: f64) -> String {
    match e == 0.0 {
        true => "0".to_string(),
        false => format!("{e:.2e}"),
    }
}

fn rows_table(kind: &str, rows: &[Row]) -> String {
    let mut lines = vec![vec![
        kind.to_string(),
        "type".to_string(),
        "checked".to_string(),
        "max abs err".to_string(),
        "max rel err".to_string(),
        String::new(),
    ]];
    for r in rows {
        lines.push(vec![
            r.name.clone(),
            r.ty.clone(),
            r.checked.clone(),
            error(r.max_abs),
            error(r.max_rel),
            (if r.ok { "ok" } else { "FAIL" }).to_string(),
        ]);
    }
    table(&lines, "  ")
}

fn json_report(program: &Program, what: &str, gradients: &[Row], compiled: &[Row], ok: bool) -> String {
    let number = |v: f64| if v.is_finite() { format!("{v:e}") } else { "null".to_string() };
    let rows = |rows: &[Row], kind: &str| {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "    {{\"{kind}\": {}, \"type\": \"{}\", \"checked\": \"{}\", \"max_abs_err\": {}, \"max_rel_err\": {}, \"ok\": {}}}",
                    json_string(&r.name),
                    r.ty,
                    r.checked,
                    number(r.max_abs),
                    number(r.max_rel),
                    r.ok
                )
            })
            .collect();
        format!("[\n{}\n  ]", items.join(",\n"))
    };
    format!(
        "{{\n  \"file\": {},\n  \"checked\": {},\n  \"ok\": {ok},\n  \"gradients\": {},\n  \"compiled\": {}\n}}\n",
        json_string(&program.path),
        json_string(what),
        rows(gradients, "input"),
        if compiled.is_empty() { "[]".to_string() } else { rows(compiled, "output") }
    )
}
