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
//! The exit code is 1 if anything is beyond tolerance, 3 if the function could not be compiled
//! (after the gradient table is printed).

use super::{differentiable_params, param_names, InputArgs};
use crate::engine::Engine;
use crate::error::{CliError, EXIT_CHECK_FAILED, EXIT_COMPUTE};
use crate::inputs::{arguments, random, Missing};
use crate::program::Program;
use crate::promote::{self, widen};
use crate::report::{json_string, table};
use crate::rng::Rng;
use crate::Outcome;
use gradjit_ir::prim::{Axes, Literal, ReduceOp, UnaryOp};
use gradjit_ir::{interp, BinaryOp, DType, Function, HostArray, Prim, Scalar, Value};
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
    /// Elements checked, of how many.
    checked: usize,
    elements: usize,
    errors: Errors,
}

/// The largest errors over the elements of one input or output.
struct Errors {
    max_abs: f64,
    max_rel: f64,
    /// Every element within its tolerance.
    ok: bool,
    /// Some error was NaN (`f64::max` would forget it).
    nan: bool,
}

impl Errors {
    fn new() -> Errors {
        Errors { max_abs: 0.0, max_rel: 0.0, ok: true, nan: false }
    }

    /// Adds an element whose value is `got` where `want` was expected, with at most `tol` of
    /// absolute error allowed; a NaN error is never within tolerance.
    fn add(&mut self, got: Complex64, want: Complex64, tol: f64) {
        let abs = (got - want).norm();
        let scale = got.norm().max(want.norm());
        let rel = match abs {
            0.0 => 0.0,
            _ if scale.is_infinite() => f64::INFINITY,
            _ => abs / scale,
        };
        self.ok &= abs <= tol;
        self.nan |= abs.is_nan();
        self.max_abs = self.max_abs.max(abs);
        self.max_rel = self.max_rel.max(rel);
    }

    fn max_abs(&self) -> f64 {
        if self.nan {
            f64::NAN
        } else {
            self.max_abs
        }
    }

    fn max_rel(&self) -> f64 {
        if self.nan {
            f64::NAN
        } else {
            self.max_rel
        }
    }
}

/// Random streams (besides the inputs', numbered by parameter position) of the cotangents of
/// a VJP check and of the sampled elements.
const COTANGENT_STREAM: u64 = 1 << 32;
const SAMPLE_STREAM: u64 = 1 << 33;

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
    // A function codegen cannot compile still has its gradients checked; the error comes after.
    let (compiled_rows, compiled_error) = match args.interpret {
        true => (Vec::new(), None),
        false => match compiled_vs_interpreted(&program, &loss, &wrt, &inputs.values, args.compiled_rtol) {
            Ok(rows) => (rows, None),
            Err(e) => (Vec::new(), Some(e)),
        },
    };
    let ok = gradient_rows.iter().chain(&compiled_rows).all(|r| r.errors.ok);

    let out = match args.json {
        true => json_report(&program, &what, &gradient_rows, &compiled_rows, compiled_error.as_ref()),
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
            match (&compiled_error, args.interpret) {
                (_, true) => {}
                (Some(_), false) => out.push_str("\ncompiled vs interpreter: not compared (see the error)\n"),
                (None, false) => {
                    out.push_str("\ncompiled vs interpreter:\n");
                    out.push_str(&rows_table("output", &compiled_rows));
                }
            }
            out.push_str(match (ok, compiled_error.is_some()) {
                (true, false) => "\nok: every error is within tolerance\n",
                (true, true) => "\nthe gradients are within tolerance; the compiled code could not be checked\n",
                (false, _) => "\nFAILED: some errors are beyond tolerance\n",
            });
            out
        }
    };
    let code = match (&compiled_error, ok) {
        (Some(e), _) => {
            eprintln!("error: {e}");
            EXIT_COMPUTE
        }
        (None, true) => 0,
        (None, false) => EXIT_CHECK_FAILED,
    };
    Ok(Outcome { stdout: out, code })
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
                let ct = random(&ty, seed, COTANGENT_STREAM + k as u64);
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
    let mut rng = Rng::new(args.seed, SAMPLE_STREAM);
    for (slot, &p) in wrt.iter().enumerate() {
        let x = &args64[p];
        let ad = &results[1 + slot];
        let elements = rng.sample(x.numel(), args.max_elements);
        let mut errors = Errors::new();
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
            errors.add(ad.get(i).to_c128(), fd, args.atol + args.rtol * fd.norm());
        }
        rows.push(Row {
            name: program.param_names[p].clone(),
            ty: program.param_type(p).to_string(),
            checked: elements.len(),
            elements: x.numel(),
            errors,
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
            let default_rtol = match w.dtype().real() {
                DType::F64 => 1e-10,
                _ => 1e-4,
            };
            rows.push(compare(name, w, g, rtol.unwrap_or(default_rtol)));
        }
    }
    Ok(rows)
}

/// One row comparing a compiled output `got` with the interpreter's `want`: integers and bools
/// exactly, floats within `rtol` of the element or of the output's largest magnitude; NaN
/// matches NaN.
fn compare(name: String, want: &HostArray, got: &HostArray, rtol: f64) -> Row {
    let mut errors = Errors::new();
    let (checked, elements) = (want.numel(), want.numel());
    if want.ty() != got.ty() {
        errors.add(Complex64::new(f64::NAN, 0.0), Complex64::new(0.0, 0.0), 0.0);
        return Row { name, ty: format!("{} vs {}", want.ty(), got.ty()), checked, elements, errors };
    }
    let exact = !want.dtype().is_inexact();
    let largest = want.scalars().map(|s| s.to_c128().norm()).filter(|v| v.is_finite()).fold(0.0, f64::max);
    for (w, g) in want.scalars().zip(got.scalars()) {
        let (w, g) = (w.to_c128(), g.to_c128());
        let both_nan = (w.re.is_nan() || w.im.is_nan()) && (g.re.is_nan() || g.im.is_nan());
        let tol = if exact { 0.0 } else { rtol * w.norm().max(largest) };
        match both_nan || w == g {
            // An exact match, infinities and NaNs included (`inf - inf` would be NaN).
            true => errors.add(Complex64::ZERO, Complex64::ZERO, 0.0),
            false => errors.add(g, w, tol),
        }
    }
    Row { name, ty: want.ty().to_string(), checked, elements, errors }
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
            format!("{} of {}", r.checked, r.elements),
            error(r.errors.max_abs()),
            error(r.errors.max_rel()),
            (if r.errors.ok { "ok" } else { "FAIL" }).to_string(),
        ]);
    }
    table(&lines, "  ")
}

fn json_report(program: &Program, what: &str, gradients: &[Row], compiled: &[Row], error: Option<&CliError>) -> String {
    let number = |v: f64| if v.is_finite() { format!("{v:e}") } else { "null".to_string() };
    let rows = |rows: &[Row], kind: &str| {
        let items: Vec<String> = rows
            .iter()
            .map(|r| {
                format!(
                    "    {{\"{kind}\": {}, \"type\": \"{}\", \"checked\": {}, \"elements\": {}, \
                     \"max_abs_err\": {}, \"max_rel_err\": {}, \"ok\": {}}}",
                    json_string(&r.name),
                    r.ty,
                    r.checked,
                    r.elements,
                    number(r.errors.max_abs()),
                    number(r.errors.max_rel()),
                    r.errors.ok
                )
            })
            .collect();
        match items.is_empty() {
            true => "[]".to_string(),
            false => format!("[\n{}\n  ]", items.join(",\n")),
        }
    };
    let ok = error.is_none() && gradients.iter().chain(compiled).all(|r| r.errors.ok);
    format!(
        "{{\n  \"file\": {},\n  \"checked\": {},\n  \"ok\": {ok},\n  \"gradients\": {},\n  \"compiled\": {},\n  \
         \"compiled_error\": {}\n}}\n",
        json_string(&program.path),
        json_string(what),
        rows(gradients, "input"),
        rows(compiled, "output"),
        error.map_or("null".to_string(), |e| json_string(&e.to_string())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(re: f64) -> Complex64 {
        Complex64::new(re, 0.0)
    }

    #[test]
    fn errors_keep_their_maximum_and_remember_nan() {
        let mut e = Errors::new();
        e.add(c(1.0), c(1.5), 1.0);
        e.add(c(f64::NAN), c(0.0), 1.0);
        e.add(c(2.0), c(2.0), 0.0);
        assert!(!e.ok && e.max_abs().is_nan() && e.max_rel().is_nan());
        let mut e = Errors::new();
        e.add(c(1.0), c(1.5), 1.0);
        e.add(c(0.0), c(0.0), 0.0);
        assert!(e.ok);
        assert_eq!((e.max_abs(), e.max_rel()), (0.5, 0.5 / 1.5));
        e.add(c(f64::INFINITY), c(1.0), 1.0);
        assert_eq!((e.ok, e.max_rel()), (false, f64::INFINITY));
    }

    #[test]
    fn compiled_outputs_compare_exactly_for_integers_and_relative_to_the_largest_for_floats() {
        let floats = |v: Vec<f32>| HostArray::from_vec([v.len()], v).unwrap();
        let row =
            compare("y".into(), &floats(vec![100.0, 1e-3, f32::NAN]), &floats(vec![100.001, 1.001e-3, f32::NAN]), 1e-4);
        assert!(row.errors.ok, "an error of 1e-6 on a small element is within 1e-4 of the largest, 100");
        let row = compare("y".into(), &floats(vec![100.0]), &floats(vec![100.1]), 1e-4);
        assert!(!row.errors.ok);
        let ints = |v: Vec<i32>| HostArray::from_vec([v.len()], v).unwrap();
        assert!(!compare("k".into(), &ints(vec![1, 2]), &ints(vec![1, 3]), 1.0).errors.ok);
        let row = compare("k".into(), &ints(vec![1]), &floats(vec![1.0]), 1.0);
        assert_eq!((row.ty.as_str(), row.errors.ok), ("i32[1] vs f32[1]", false));
    }
}
