//! `test simplify`, `test fold`, `test algebraic`, `test licm`, `test cse`, `test dce`: the input after the
//! whole pipeline (`gradjit_ir::passes::simplify`) or after one pass.
//!
//! Besides comparing the text, every file checks what the pass promises: the input and the
//! output verify, and the reference interpreter gives both the same results (up to NaN
//! payloads and the sign of zero) on deterministic pseudo-random arguments.

use super::Args;
use gradjit_ir::passes::{self, Pass};
use gradjit_ir::{interp, verify, DType, Function, HostArray, Scalar, TensorType};
use num_complex::{Complex32, Complex64};

pub fn simplify(f: &Function, args: &Args) -> Result<String, String> {
    run_pass(f, args, passes::simplify)
}
pub fn fold(f: &Function, args: &Args) -> Result<String, String> {
    run_pass(f, args, passes::fold::fold)
}
pub fn algebraic(f: &Function, args: &Args) -> Result<String, String> {
    run_pass(f, args, passes::algebraic::algebraic)
}
pub fn cse(f: &Function, args: &Args) -> Result<String, String> {
    run_pass(f, args, passes::cse::cse)
}
pub fn dce(f: &Function, args: &Args) -> Result<String, String> {
    run_pass(f, args, passes::dce::dce)
}
pub fn licm(f: &Function, args: &Args) -> Result<String, String> {
    run_pass(f, args, passes::licm::licm)
}

fn run_pass(f: &Function, args: &Args, pass: Pass) -> Result<String, String> {
    args.allow_only(&[])?;
    verify(f).map_err(|e| format!("the input does not verify: {e}"))?;
    let g = pass(f);
    verify(&g).map_err(|e| format!("the output does not verify: {e}"))?;
    same_results(f, &g)?;
    Ok(g.to_string())
}

/// Runs `f` and `g` on the same arguments and compares their outputs.
fn same_results(f: &Function, g: &Function) -> Result<(), String> {
    let args: Vec<HostArray> = f.param_types().iter().enumerate().map(|(i, t)| argument(t, i)).collect();
    let want = interp::run(f, &args).map_err(|e| format!("the input does not run: {e}"))?;
    let got = interp::run(g, &args).map_err(|e| format!("the output does not run: {e}"))?;
    for (i, (w, o)) in want.iter().zip(&got).enumerate() {
        let same = w.ty() == o.ty() && w.scalars().zip(o.scalars()).all(|(x, y)| same_scalar(x, y));
        if !same {
            return Err(format!("output {i} changed: {w:?} became {o:?}"));
        }
    }
    Ok(())
}

/// Equal values, where all NaNs are equal and so are `0.0` and `-0.0`.
fn same_scalar(x: Scalar, y: Scalar) -> bool {
    let (x, y) = (x.to_c128(), y.to_c128());
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    same(x.re, y.re) && same(x.im, y.im)
}

/// Argument `index` of type `t`: reproducible values in [-2, 2) (small integers, mixed bools).
fn argument(t: &TensorType, index: usize) -> HostArray {
    let mut a = HostArray::zeros(t.dtype, t.shape.clone());
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ index as u64;
    for i in 0..a.numel() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let v = (state >> 40) as f64 / (1u64 << 24) as f64 * 4.0 - 2.0;
        let s = match t.dtype {
            DType::F32 | DType::F64 | DType::Float0 => Scalar::F64(v),
            DType::I32 | DType::I64 => Scalar::F64((v * 4.0).round()),
            DType::Bool => Scalar::Bool(v > 0.0),
            DType::C64 => Scalar::C64(Complex32::new(v as f32, 0.5 - v as f32)),
            DType::C128 => Scalar::C128(Complex64::new(v, 0.5 - v)),
        };
        a.set(i, s);
    }
    a
}
