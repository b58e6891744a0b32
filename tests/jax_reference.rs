//! gradjit against JAX.
//!
//! Every function of `tests/reference/corpus/` (IR text) is run by the reference interpreter and
//! differentiated by `gradjit-autodiff`, and the results are compared with what JAX computed
//! for the same function on the same inputs: `tests/reference/golden/<name>.json`, written by
//! `scripts/gen_reference.py`, which builds each function out of `jax.lax` primitives. Python
//! never runs here; after editing the corpus, rerun the script and commit both.
//!
//! Each test checks one quantity (outputs, gradients, Hessians, VJPs, JVPs) on every corpus
//! file and reports every failure at once, naming the file, the quantity and its worst element.
//!
//! Tolerances are relative and set by the lowest precision a function computes in (any f32
//! or c64 value makes it an f32 function): outputs to 1e-12 (f64) or 1e-6 (f32), derivatives to
//! 1e-10 or 1e-5. An element is measured against the largest of its own magnitude and a floor:
//! 1e-3 of its array's largest element in f64, the largest element itself in f32. Values left
//! over from cancellation carry the rounding of the terms that cancelled, not their own, and
//! f32 has too few digits to spare for that (see [`Precision::floor`]).

use gradjit_autodiff as ad;
use gradjit_ir::{interp, parse_function, DType, Function, HostArray, Scalar, Value};
use num_complex::{Complex32, Complex64};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A corpus function, its inputs and everything JAX computed for it.
struct Case {
    name: String,
    f: Function,
    precision: Precision,
    inputs: Vec<HostArray>,
    outputs: Vec<HostArray>,
    /// The parameters JAX differentiated: the inexact ones.
    wrt: Vec<usize>,
    grad: Option<Vec<HostArray>>,
    /// Block `[i][j]` is `∂²out0 / ∂x_wrt[i] ∂x_wrt[j]`.
    hessian: Option<Vec<Vec<HostArray>>>,
    vjp: Option<Vjp>,
    jvp: Option<Jvp>,
    /// The quantities JAX refuses by design (`grad`, `hessian`, `vjp`, `jvp`): reverse mode
    /// through a while loop, forward mode through a custom_vjp function. gradjit must refuse them.
    refused: Vec<String>,
}

struct Vjp {
    /// One per output; `None` for a non-inexact output (a float0 cotangent).
    cotangents: Vec<Option<HostArray>>,
    /// One per `wrt` parameter.
    grads: Vec<HostArray>,
}

struct Jvp {
    /// One per `wrt` parameter.
    tangents: Vec<HostArray>,
    /// One per output; `None` for a non-inexact output (a float0 tangent).
    outputs: Vec<Option<HostArray>>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Precision {
    F64,
    F32,
}

/// How close gradjit must come to JAX: `|gradjit - jax| <= rel * max(|jax|, floor * largest)`,
/// `largest` being the magnitude of the array's largest element.
#[derive(Clone, Copy, Debug)]
struct Tolerance {
    rel: f64,
    floor: f64,
}

impl Precision {
    fn of(f: &Function) -> Precision {
        let single = (0..f.num_values()).any(|i| matches!(f.ty(Value::from_index(i)).dtype, DType::F32 | DType::C64));
        if single {
            Precision::F32
        } else {
            Precision::F64
        }
    }
    fn values(self) -> Tolerance {
        Tolerance { rel: if self == Precision::F64 { 1e-12 } else { 1e-6 }, floor: self.floor() }
    }
    fn derivatives(self) -> Tolerance {
        Tolerance { rel: if self == Precision::F64 { 1e-10 } else { 1e-5 }, floor: self.floor() }
    }
    /// f32 leaves only two digits between its rounding (6e-8) and the tolerance, which
    /// cancellation in a sum of a few terms uses up: f32 arrays are compared normwise.
    fn floor(self) -> f64 {
        match self {
            Precision::F64 => 1e-3,
            Precision::F32 => 1.0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading the corpus and the golden files.
// ---------------------------------------------------------------------------------------------

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn stems(dir: &Path, ext: &str) -> Vec<String> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    let mut out: Vec<String> = entries
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| p.file_stem().expect("file name").to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// Every case, loaded once and shared by the tests. Panics on a malformed or stale file: that
/// is a broken test setup, not a gradjit bug.
fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let dir = reference_dir();
        let corpus = stems(&dir.join("corpus"), "gj");
        let golden = stems(&dir.join("golden"), "json");
        assert!(!corpus.is_empty(), "no corpus files in {}", dir.join("corpus").display());
        assert_eq!(corpus, golden, "corpus and golden files differ: run scripts/gen_reference.py");
        corpus.iter().map(|name| load(&dir, name).unwrap_or_else(|e| panic!("{name}: {e}"))).collect()
    })
}

fn load(dir: &Path, name: &str) -> Result<Case, String> {
    let text = std::fs::read_to_string(dir.join(format!("corpus/{name}.gj"))).map_err(|e| e.to_string())?;
    let f = parse_function(&text).map_err(|e| format!("parse error: {e}"))?;
    let json = std::fs::read_to_string(dir.join(format!("golden/{name}.json"))).map_err(|e| e.to_string())?;
    let g: Json = serde_json::from_str(&json).map_err(|e| format!("bad golden file: {e}"))?;

    if g["corpus"].as_str() != Some(&format!("{name}.gj")) {
        return Err(format!("golden file names corpus {}", g["corpus"]));
    }
    let inputs = arrays(&g["inputs"])?;
    let outputs = arrays(&g["outputs"])?;
    let types_agree = |arrays: &[HostArray], types: Vec<gradjit_ir::TensorType>| {
        arrays.len() == types.len() && arrays.iter().zip(&types).all(|(a, t)| a.ty() == t)
    };
    if !types_agree(&inputs, f.param_types()) || !types_agree(&outputs, f.output_types()) {
        return Err("golden inputs or outputs do not match the function's types: run scripts/gen_reference.py".into());
    }
    let wrt: Vec<usize> = g["wrt"]
        .as_array()
        .ok_or("missing wrt")?
        .iter()
        .map(|i| i.as_u64().map(|i| i as usize).ok_or("bad wrt"))
        .collect::<Result<_, _>>()?;
    let grad = optional(&g["grad"], arrays)?;
    let hessian = optional(&g["hessian"], |rows| {
        rows.as_array().ok_or("hessian is not a list")?.iter().map(arrays).collect::<Result<Vec<_>, _>>()
    })?;
    let vjp = optional(&g["vjp"], |v| {
        Ok(Vjp { cotangents: optional_arrays(&v["cotangents"])?, grads: arrays(&v["grads"])? })
    })?;
    let jvp = optional(&g["jvp"], |v| {
        Ok(Jvp { tangents: arrays(&v["tangents"])?, outputs: optional_arrays(&v["outputs"])? })
    })?;
    let refused = optional(&g["refused"], |v| {
        let list = v.as_array().ok_or("refused is not a list")?;
        list.iter().map(|q| q.as_str().map(String::from).ok_or_else(|| format!("bad refusal {q}"))).collect()
    })?
    .unwrap_or_default();
    let precision = Precision::of(&f);
    Ok(Case { name: name.to_string(), f, precision, inputs, outputs, wrt, grad, hessian, vjp, jvp, refused })
}

fn optional<T>(v: &Json, parse: impl FnOnce(&Json) -> Result<T, String>) -> Result<Option<T>, String> {
    if v.is_null() {
        Ok(None)
    } else {
        parse(v).map(Some)
    }
}

fn arrays(v: &Json) -> Result<Vec<HostArray>, String> {
    v.as_array().ok_or_else(|| format!("expected a list of arrays, got {v}"))?.iter().map(array).collect()
}

fn optional_arrays(v: &Json) -> Result<Vec<Option<HostArray>>, String> {
    let list = v.as_array().ok_or_else(|| format!("expected a list, got {v}"))?;
    list.iter().map(|a| optional(a, array)).collect()
}

/// `{"dtype": "f64", "shape": [2, 3], "data": [...]}` as an array, bit-exact.
fn array(v: &Json) -> Result<HostArray, String> {
    let dtype = v["dtype"].as_str().and_then(DType::from_name).ok_or_else(|| format!("bad dtype in {v}"))?;
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .ok_or("missing shape")?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or("bad dimension"))
        .collect::<Result<_, _>>()?;
    let data = v["data"].as_array().ok_or("missing data")?;
    let mut a = HostArray::zeros(dtype, shape);
    if data.len() != a.numel() {
        return Err(format!("{} elements for type {}", data.len(), a.ty()));
    }
    for (i, x) in data.iter().enumerate() {
        a.set(i, scalar(x, dtype).ok_or_else(|| format!("bad {dtype} element {x}"))?);
    }
    Ok(a)
}

fn scalar(x: &Json, dtype: DType) -> Option<Scalar> {
    // Non-finite floats are strings, since JSON has no literal for them.
    let float = |x: &Json| match x.as_str() {
        Some("nan") => Some(f64::NAN),
        Some("inf") => Some(f64::INFINITY),
        Some("-inf") => Some(f64::NEG_INFINITY),
        _ => x.as_f64(),
    };
    let pair = |x: &Json| match x.as_array()?.as_slice() {
        [re, im] => Some((float(re)?, float(im)?)),
        _ => None,
    };
    // f32 data is written as the f64 repr of the f32 value, so `as f32` is exact.
    Some(match dtype {
        DType::F32 => Scalar::F32(float(x)? as f32),
        DType::F64 => Scalar::F64(float(x)?),
        DType::I32 => Scalar::I32(i32::try_from(x.as_i64()?).ok()?),
        DType::I64 => Scalar::I64(x.as_i64()?),
        DType::Bool => Scalar::Bool(x.as_bool()?),
        DType::C64 => pair(x).map(|(re, im)| Scalar::C64(Complex32::new(re as f32, im as f32)))?,
        DType::C128 => pair(x).map(|(re, im)| Scalar::C128(Complex64::new(re, im)))?,
        DType::Float0 => Scalar::Float0,
    })
}

// ---------------------------------------------------------------------------------------------
// Comparing arrays.
// ---------------------------------------------------------------------------------------------

/// `Ok` if `actual` matches `expected` to `tol`, else where and by how much it does not.
fn compare(actual: &HostArray, expected: &HostArray, tol: Tolerance) -> Result<(), String> {
    if actual.ty() != expected.ty() {
        return Err(format!("gradjit gives {}, JAX {}", actual.ty(), expected.ty()));
    }
    if !expected.dtype().is_inexact() {
        return match (0..expected.numel()).find(|&i| actual.get(i) != expected.get(i)) {
            None => Ok(()),
            Some(i) => Err(format!(
                "element {}: gradjit {}, JAX {}",
                index_text(expected.dims(), i),
                actual.get(i),
                expected.get(i)
            )),
        };
    }
    let value = |a: &HostArray, i: usize| a.get(i).to_c128();
    let largest =
        (0..expected.numel()).map(|i| value(expected, i).norm()).filter(|m| m.is_finite()).fold(0.0, f64::max);
    let floor = (tol.floor * largest).max(f64::MIN_POSITIVE);
    let error = |i: usize| {
        let (a, e) = (value(actual, i), value(expected, i));
        let same = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
        if same(a.re, e.re) && same(a.im, e.im) {
            0.0
        } else if !(a - e).norm().is_finite() {
            f64::INFINITY
        } else {
            (a - e).norm() / e.norm().max(floor)
        }
    };
    let worst = (0..expected.numel()).map(|i| (i, error(i))).max_by(|x, y| x.1.total_cmp(&y.1));
    match worst {
        Some((i, err)) if err > tol.rel || err.is_nan() => Err(format!(
            "worst element {}: gradjit {}, JAX {} (relative error {err:.1e} > {:.0e})",
            index_text(expected.dims(), i),
            actual.get(i),
            expected.get(i),
            tol.rel
        )),
        _ => Ok(()),
    }
}

/// A flat row-major index as `[i, j, ...]`.
fn index_text(dims: &[usize], mut flat: usize) -> String {
    let mut idx = vec![0; dims.len()];
    for (k, &d) in dims.iter().enumerate().rev() {
        idx[k] = flat % d.max(1);
        flat /= d.max(1);
    }
    format!("{idx:?}")
}

/// Failures of one quantity across the corpus.
struct Report {
    quantity: &'static str,
    checked: usize,
    failed: usize,
    failures: Vec<String>,
}

impl Report {
    fn new(quantity: &'static str) -> Report {
        Report { quantity, checked: 0, failed: 0, failures: Vec::new() }
    }

    /// Records the checks of one case: `Err` from setting it up, or the list of mismatches.
    fn case(&mut self, case: &Case, result: Result<Vec<String>, String>) {
        let problems = result.unwrap_or_else(|e| vec![e]);
        self.checked += 1;
        self.failed += usize::from(!problems.is_empty());
        self.failures.extend(problems.into_iter().map(|m| format!("{}.gj: {m}", case.name)));
    }

    fn finish(self) {
        eprintln!("{}: {} of {} corpus files match JAX", self.quantity, self.checked - self.failed, self.checked);
        if !self.failures.is_empty() {
            panic!("{} mismatches with JAX:\n  {}", self.quantity, self.failures.join("\n  "));
        }
    }
}

/// Compares `actual[k]` with each `Some(expected[k])`, naming mismatches with `what(k)`.
fn compare_all<'a>(
    actual: &[HostArray],
    expected: impl IntoIterator<Item = Option<&'a HostArray>>,
    tol: Tolerance,
    what: impl Fn(usize) -> String,
) -> Vec<String> {
    let expected: Vec<Option<&HostArray>> = expected.into_iter().collect();
    if actual.len() != expected.len() {
        return vec![format!("{} results, JAX has {}", actual.len(), expected.len())];
    }
    let mut out = Vec::new();
    for (k, (a, e)) in actual.iter().zip(expected).enumerate() {
        match e {
            Some(e) => {
                if let Err(msg) = compare(a, e, tol) {
                    out.push(format!("{}: {msg}", what(k)));
                }
            }
            // JAX's float0: gradjit must give float0 of the same shape.
            None if a.dtype() != DType::Float0 => {
                out.push(format!("{}: gradjit gives {}, JAX float0", what(k), a.ty()))
            }
            None => {}
        }
    }
    out
}

fn run(f: &Function, args: &[HostArray]) -> Result<Vec<HostArray>, String> {
    interp::run(f, args).map_err(|e| format!("interpreter: {e}"))
}

/// Checks the results of a transform that returns `f`'s outputs, then derivatives.
fn check_outputs_then<'a>(
    c: &Case,
    out: &[HostArray],
    derivatives: impl IntoIterator<Item = Option<&'a HostArray>>,
    what: impl Fn(usize) -> String,
) -> Vec<String> {
    let n = c.outputs.len().min(out.len());
    let mut bad =
        compare_all(&out[..n], c.outputs.iter().map(Some), c.precision.values(), |k| format!("primal output {k}"));
    bad.extend(compare_all(&out[n..], derivatives, c.precision.derivatives(), what));
    bad
}

/// How a parameter is named in its corpus file (the printer's canonical names: `a`, `b`, ...).
fn param_name(p: usize) -> String {
    format!("{} (parameter {p})", gradjit_ir::text::value_name(p))
}

fn float0_like(a: &gradjit_ir::TensorType) -> HostArray {
    HostArray::zeros(DType::Float0, a.shape.clone())
}

// ---------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------

#[test]
fn corpus_and_golden_files_agree() {
    let cases = cases();
    let with = |q: fn(&Case) -> bool| cases.iter().filter(|c| q(c)).count();
    eprintln!(
        "{} corpus files: {} with gradients, {} with Hessians, {} with vjps, {} with jvps",
        cases.len(),
        with(|c| c.grad.is_some()),
        with(|c| c.hessian.is_some()),
        with(|c| c.vjp.is_some()),
        with(|c| c.jvp.is_some())
    );
    for c in cases {
        let inexact: Vec<usize> = (0..c.inputs.len()).filter(|&i| c.inputs[i].dtype().is_inexact()).collect();
        assert_eq!(c.wrt, inexact, "{}: wrt must list the inexact parameters", c.name);
    }
}

#[test]
fn interpreter_outputs_match_jax() {
    let mut report = Report::new("outputs");
    for c in cases() {
        let result = run(&c.f, &c.inputs)
            .map(|out| compare_all(&out, c.outputs.iter().map(Some), c.precision.values(), |k| format!("output {k}")));
        report.case(c, result);
    }
    report.finish();
}

#[test]
fn gradients_match_jax() {
    let mut report = Report::new("grad");
    for c in cases() {
        let Some(expected) = &c.grad else { continue };
        let result = ad::grad(&c.f, &c.wrt).map_err(|e| format!("grad: {e}")).and_then(|g| {
            let out = run(&g, &c.inputs)?;
            Ok(check_outputs_then(c, &out, expected.iter().map(Some), |k| format!("grad wrt {}", param_name(c.wrt[k]))))
        });
        report.case(c, result);
    }
    report.finish();
}

#[test]
fn hessians_match_jax() {
    let mut report = Report::new("hessian");
    for c in cases() {
        let Some(expected) = &c.hessian else { continue };
        let result = ad::select_outputs(&c.f, &[0])
            .and_then(|loss| ad::hessian(&loss, &c.wrt))
            .map_err(|e| format!("hessian: {e}"))
            .and_then(|h| {
                let out = run(&h, &c.inputs)?;
                let n = c.wrt.len();
                Ok(compare_all(&out, expected.iter().flatten().map(Some), c.precision.derivatives(), |k| {
                    format!("hessian block ({}, {})", param_name(c.wrt[k / n]), param_name(c.wrt[k % n]))
                }))
            });
        report.case(c, result);
    }
    report.finish();
}

#[test]
fn vjps_match_jax() {
    let mut report = Report::new("vjp");
    for c in cases() {
        let Some(expected) = &c.vjp else { continue };
        let result = ad::vjp(&c.f, &c.wrt).map_err(|e| format!("vjp: {e}")).and_then(|g| {
            let mut args = c.inputs.clone();
            let out_types = c.f.output_types();
            args.extend(expected.cotangents.iter().zip(&out_types).map(|(ct, ty)| match ct {
                Some(ct) => ct.clone(),
                None => float0_like(ty),
            }));
            let out = run(&g, &args)?;
            Ok(check_outputs_then(c, &out, expected.grads.iter().map(Some), |k| {
                format!("vjp wrt {}", param_name(c.wrt[k]))
            }))
        });
        report.case(c, result);
    }
    report.finish();
}

#[test]
fn jvps_match_jax() {
    let mut report = Report::new("jvp");
    for c in cases() {
        let Some(expected) = &c.jvp else { continue };
        let result = ad::jvp(&c.f).map_err(|e| format!("jvp: {e}")).and_then(|g| {
            let mut args = c.inputs.clone();
            let param_types = c.f.param_types();
            args.extend(param_types.iter().enumerate().map(|(p, ty)| match c.wrt.iter().position(|&w| w == p) {
                Some(k) => expected.tangents[k].clone(),
                None => float0_like(ty),
            }));
            let out = run(&g, &args)?;
            Ok(check_outputs_then(c, &out, expected.outputs.iter().map(Option::as_ref), |k| format!("jvp output {k}")))
        });
        report.case(c, result);
    }
    report.finish();
}

#[test]
fn refusals_match_jax() {
    let mut report = Report::new("refusals");
    for c in cases().iter().filter(|c| !c.refused.is_empty()) {
        let loss = || ad::select_outputs(&c.f, &[0]);
        let problems = c
            .refused
            .iter()
            .filter_map(|q| {
                let attempt = match q.as_str() {
                    "grad" => ad::grad(&c.f, &c.wrt),
                    "hessian" => loss().and_then(|l| ad::hessian(&l, &c.wrt)),
                    "vjp" => ad::vjp(&c.f, &c.wrt),
                    "jvp" => ad::jvp(&c.f),
                    "holomorphic_grad" => ad::grad(&c.f, &c.wrt),
                    "allow_int_grad" => ad::grad(&c.f, &(0..c.inputs.len()).collect::<Vec<_>>()),
                    other => return Some(format!("unknown refused quantity `{other}`")),
                };
                attempt.is_ok().then(|| format!("JAX refuses {q}, gradjit computes it"))
            })
            .collect();
        report.case(c, Ok(problems));
    }
    report.finish();
}

// ---------------------------------------------------------------------------------------------
// The options of `grad` with machinery of their own (issue 8), through the user API: each is
// computed by `gradjit::grad` (the interpreter) and by `jit(grad)` (native code) on the corpus
// function (as a `TracedFunction` called from a closure) and compared with JAX's.
// ---------------------------------------------------------------------------------------------

/// JAX's gradients under one of `grad`'s options (golden key `key`), if the case has them:
/// `holomorphic_grad` (one per `wrt` parameter) or `allow_int_grad` (one per parameter, float0
/// for the integer and bool ones).
fn option_grads(c: &Case, key: &str) -> Option<Result<Vec<HostArray>, String>> {
    let path = reference_dir().join(format!("golden/{}.json", c.name));
    let read = || -> Result<Option<Vec<HostArray>>, String> {
        let g: Json = serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| e.to_string())?)
            .map_err(|e| format!("bad golden file: {e}"))?;
        optional(&g[key], |v| {
            let list = v.as_array().ok_or_else(|| format!("{key} is not a list"))?;
            list.iter().map(float0_or_array).collect()
        })
    };
    read().transpose()
}

/// An array, or JAX's float0 (`{"dtype": "float0", "shape": [...], "data": []}`).
fn float0_or_array(v: &Json) -> Result<HostArray, String> {
    if v["dtype"].as_str() != Some("float0") {
        return array(v);
    }
    let dims = v["shape"].as_array().ok_or("missing shape")?;
    let shape: Vec<usize> =
        dims.iter().map(|d| d.as_u64().map(|d| d as usize).ok_or("bad dimension")).collect::<Result<_, _>>()?;
    Ok(HostArray::zeros(DType::Float0, shape))
}

/// `grad` of output 0 of `c` with respect to its parameters `wrt` (one list argument; the other
/// parameters keep their inputs), with `holomorphic` or `allow_int`: the gradients computed by
/// `gradjit::grad` and by `jit(grad)`, each flat.
fn api_grads(c: &Case, wrt: &[usize], holomorphic: bool, allow_int: bool) -> Result<[Vec<HostArray>; 2], String> {
    use gradjit::{Array, Tensor, TracedFunction};
    let traced = TracedFunction::from_function(c.f.clone()).map_err(|e| e.to_string())?;
    let inputs: Vec<Array> = c.inputs.iter().cloned().map(Array::from_host).collect();
    let positions = wrt.to_vec();
    let loss = move |xs: Vec<Tensor>| -> gradjit::Result<Tensor> {
        let mut args: Vec<Tensor> = inputs.iter().map(Tensor::from).collect();
        for (&p, x) in positions.iter().zip(xs) {
            args[p] = x;
        }
        Ok(traced.call(&args)?.swap_remove(0))
    };
    let args: Vec<Array> = wrt.iter().map(|&p| Array::from_host(c.inputs[p].clone())).collect();
    let flat = |r: gradjit::Result<gradjit::GradResult<Array>>, engine: &str| -> Result<Vec<HostArray>, String> {
        let r = r.map_err(|e| format!("{engine}: {e}"))?;
        let tree = r.arg_grad_tree(0).ok_or_else(|| format!("{engine}: no gradient of the arguments"))?;
        Ok(tree.leaves().into_iter().map(|a| a.as_host().clone()).collect())
    };
    let grad = || gradjit::grad(loss.clone()).holomorphic(holomorphic).allow_int(allow_int);
    let interpreted = flat(grad().call(&args[..]), "grad")?;
    let compiled = flat(gradjit::jit(grad()).call(&args[..]), "jit(grad)")?;
    Ok([interpreted, compiled])
}

/// Checks `grad` and `jit(grad)` with an option against JAX on every case that has `key`.
fn check_option(key: &'static str, wrt: fn(&Case) -> Vec<usize>, holomorphic: bool, allow_int: bool) {
    let mut report = Report::new(key);
    for c in cases() {
        let Some(expected) = option_grads(c, key) else { continue };
        let result = expected.and_then(|expected| {
            let wrt = wrt(c);
            let [interpreted, compiled] = api_grads(c, &wrt, holomorphic, allow_int)?;
            let mut bad = Vec::new();
            for (engine, actual) in [("grad", interpreted), ("jit(grad)", compiled)] {
                let name = |k: usize| format!("{engine}, gradient of {}", param_name(wrt[k]));
                bad.extend(compare_all(&actual, expected.iter().map(Some), c.precision.derivatives(), name));
            }
            Ok(bad)
        });
        report.case(c, result);
    }
    assert!(report.checked >= 5, "{key}: only {} corpus files", report.checked);
    report.finish();
}

#[test]
fn holomorphic_gradients_match_jax_through_grad_and_jit() {
    check_option("holomorphic_grad", |c| c.wrt.clone(), true, false);
}

#[test]
fn allow_int_gradients_match_jax_through_grad_and_jit() {
    check_option("allow_int_grad", |c| (0..c.inputs.len()).collect(), false, true);
}

/// Issue 8's two examples, by value: `z² + 3z` at `1+2j` has the holomorphic gradient `5+4j`, and
/// `|z|²` at `1+2j` JAX's conjugate-convention gradient `2-4j`, through `grad` and `jit(grad)`.
#[test]
fn the_issue_examples_have_jaxs_values() {
    let case = |name: &str| cases().iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name}.gj"));
    let want = |re: f64, im: f64| HostArray::scalar(Scalar::C128(Complex64::new(re, im)));
    let poly = case("holomorphic_poly");
    assert_eq!(poly.inputs[0], want(1.0, 2.0));
    for g in api_grads(poly, &[0], true, false).unwrap() {
        assert_eq!(g, [want(5.0, 4.0)]);
    }
    let abs2 = case("complex_abs2");
    for g in api_grads(abs2, &[0], false, false).unwrap() {
        assert_eq!(g, [want(2.0, -4.0)]);
    }
}
