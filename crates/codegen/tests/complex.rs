//! Complex numbers in compiled code: every complex primitive against the interpreter, in `c64` and
//! `c128`, at every size of `common::SIZES`, with broadcasts; accuracy where the interpreter's own
//! formulas break down (checked against `c128` references and closed forms); holomorphic and
//! conjugate-convention gradients through `gradjit_autodiff::grad` and `compile`.
//!
//! Errors are *normwise relative*: `|w − w_ref| / max(|w_ref|, floor)` in units of the real type's
//! epsilon (`2⁻²³` for `c64`, `2⁻⁵²` for `c128`), with `floor` 0 except where a result near 0 only has
//! absolute accuracy (`log` near `|z| = 1`, `pow` through it). Bounds are stated per operation below.

mod common;

use common::{Rng, SIZES};
use gradjit_codegen::plan::Step;
use gradjit_codegen::{compile, CompileOptions, Executable};
use gradjit_ir::{
    interp, BinaryOp, CompareOp, DType, DotDims, Function, HostArray, Prim, ReduceOp, Shape, TensorType, UnaryOp, Value,
};
use num_complex::{Complex32, Complex64};

const COMPLEX: [DType; 2] = [DType::C64, DType::C128];

fn eps(dt: DType) -> f64 {
    if dt.real() == DType::F32 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    }
}

/// Values with real and imaginary parts uniform in the given ranges.
fn carray(dt: DType, shape: &[usize], seed: u64, re: (f64, f64), im: (f64, f64)) -> HostArray {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    let vals: Vec<Complex64> =
        (0..n).map(|_| Complex64::new(rng.uniform(re.0, re.1), rng.uniform(im.0, im.1))).collect();
    from_c128(dt, shape, &vals)
}

fn from_c128(dt: DType, shape: &[usize], vals: &[Complex64]) -> HostArray {
    let shape = Shape::new(shape);
    if dt == DType::C64 {
        let v: Vec<Complex32> = vals.iter().map(|c| Complex32::new(c.re as f32, c.im as f32)).collect();
        HostArray::from_vec(shape, v).expect("c64 array")
    } else {
        HostArray::from_vec(shape, vals.to_vec()).expect("c128 array")
    }
}

fn run_both(f: &Function, args: &[HostArray]) -> (Executable, Vec<HostArray>, Vec<HostArray>) {
    let exe = compile(f, &CompileOptions::default()).unwrap_or_else(|e| panic!("compile failed: {e}\n{f}"));
    let refs: Vec<&HostArray> = args.iter().collect();
    let got = exe.run(&refs).unwrap_or_else(|e| panic!("run failed: {e}\n{f}"));
    let want = interp::run(f, args).unwrap_or_else(|e| panic!("interpreter failed: {e}\n{f}"));
    (exe, got, want)
}

/// The largest normwise relative error of `got` against `want` in units of `eps`; exact agreement
/// (bits, or NaN in the same parts) counts as 0, a NaN on one side only as infinite.
fn max_error(got: &HostArray, want: &HostArray, floor: f64, eps: f64) -> f64 {
    assert_eq!(got.ty(), want.ty());
    let mut worst: f64 = 0.0;
    for i in 0..got.numel() {
        let (g, w) = (got.get(i), want.get(i));
        if g == w {
            continue;
        }
        let (gc, wc) = (g.to_c128(), w.to_c128());
        let nan_match = gc.re.is_nan() == wc.re.is_nan() && gc.im.is_nan() == wc.im.is_nan();
        if !nan_match {
            return f64::INFINITY;
        }
        let part = |a: f64, b: f64| if a.is_nan() || a == b { 0.0 } else { a - b };
        let d = Complex64::new(part(gc.re, wc.re), part(gc.im, wc.im)).norm();
        if d == 0.0 {
            continue;
        }
        let scale = wc.norm().max(floor);
        if !scale.is_finite() {
            // Infinities must agree exactly (the difference would be NaN or ∞).
            return f64::INFINITY;
        }
        worst = worst.max(d / scale / eps);
    }
    worst
}

/// Compiles and interprets `f`, asserting every output within `bound` (0: bit for bit).
fn check(f: &Function, args: &[HostArray], bound: f64, floor: f64, what: &str) -> f64 {
    let (_, got, want) = run_both(f, args);
    let mut worst: f64 = 0.0;
    for (g, w) in got.iter().zip(&want) {
        let e = max_error(g, w, floor, eps(w.dtype()));
        assert!(e <= bound, "{what}: error {e:.2} eps exceeds {bound}\n{f}");
        worst = worst.max(e);
    }
    worst
}

fn unary_fn(op: UnaryOp, ty: &TensorType) -> Function {
    let mut f = Function::new();
    let x = f.add_param(ty.clone());
    let y = f.push1(Prim::Unary(op), &[x], None).unwrap();
    f.outputs.push(y);
    f
}

fn binary_fn(op: BinaryOp, tx: &TensorType, ty: &TensorType, out: &[usize]) -> Function {
    let mut f = Function::new();
    let x = f.add_param(tx.clone());
    let y = f.add_param(ty.clone());
    let bx = broadcast(&mut f, x, out);
    let by = broadcast(&mut f, y, out);
    let z = f.push1(Prim::Binary(op), &[bx, by], None).unwrap();
    f.outputs.push(z);
    f
}

/// `x` broadcast to `out` (aligned on trailing dimensions), or `x` itself if it has that shape.
fn broadcast(f: &mut Function, x: Value, out: &[usize]) -> Value {
    let ty = f.ty(x).clone();
    if ty.dims() == out {
        return x;
    }
    let dims = (out.len() - ty.rank()..out.len()).collect();
    f.push1(Prim::BroadcastInDim { shape: Shape::new(out), dims }, &[x], None).unwrap()
}

/// `(operation, real range, imaginary range, bound in eps, floor)` of the differential test.
type UnaryCase = (UnaryOp, (f64, f64), (f64, f64), [f64; 2], f64);

/// Bounds (c64, c128) against the interpreter, which is itself a few ulps from exact: `num_complex` on
/// Rust's libm. Domains avoid the poles of `tan`/`tanh`, where `num_complex`'s `cos 2b + cosh 2a`
/// cancels (accuracy there is checked against references in `tanh_and_tan_are_accurate_near_poles_*`).
const UNARY: [UnaryCase; 17] = {
    use UnaryOp::*;
    const BOX: (f64, f64) = (-4.0, 4.0);
    [
        (Neg, BOX, BOX, [0.0, 0.0], 0.0),
        (Conj, BOX, BOX, [0.0, 0.0], 0.0),
        (Real, BOX, BOX, [0.0, 0.0], 0.0),
        (Imag, BOX, BOX, [0.0, 0.0], 0.0),
        (Abs, BOX, BOX, [1.0, 2.0], 0.0),
        (Sign, BOX, BOX, [1.0, 2.5], 0.0),
        (Exp, (-30.0, 30.0), (-10.0, 10.0), [3.0, 3.0], 0.0),
        (Expm1, (-2.0, 2.0), (-2.0, 2.0), [4.0, 4.0], 0.0),
        (Log, BOX, BOX, [2.0, 2.0], 1.0),
        (Log1p, (-2.0, 2.0), (-2.0, 2.0), [2.0, 2.0], 1.0),
        (Sqrt, BOX, BOX, [3.0, 3.0], 0.0),
        (Rsqrt, BOX, BOX, [4.0, 4.0], 0.0),
        (Sin, (-10.0, 10.0), (-10.0, 10.0), [4.0, 4.0], 0.0),
        (Cos, (-10.0, 10.0), (-10.0, 10.0), [4.0, 4.0], 0.0),
        (Tan, (-1.2, 1.2), (-30.0, 30.0), [5.0, 5.0], 0.0),
        (Tanh, (-30.0, 30.0), (-1.2, 1.2), [5.0, 5.0], 0.0),
        (Logistic, BOX, (-2.0, 2.0), [4.0, 4.0], 0.0),
    ]
};

#[test]
fn unary_ops_match_the_interpreter() {
    for (op, re, im, bounds, floor) in UNARY {
        for (d, dt) in COMPLEX.into_iter().enumerate() {
            let mut worst: f64 = 0.0;
            for (k, &n) in SIZES.iter().enumerate() {
                let ty = TensorType::new(dt, [n]);
                let x = carray(dt, &[n], 100 + k as u64, re, im);
                let what = format!("{} {dt}[{n}]", op.name());
                worst = worst.max(check(&unary_fn(op, &ty), &[x], bounds[d], floor, &what));
            }
            eprintln!("{:>8} {dt}: max error {worst:.2} eps (bound {})", op.name(), bounds[d]);
        }
    }
}

#[test]
fn binary_ops_match_the_interpreter_with_broadcasts() {
    use BinaryOp::*;
    const BOX: (f64, f64) = (-4.0, 4.0);
    // (op, bound c64, bound c128, floor): arithmetic is num_complex's formula, bit for bit.
    let cases = [(Add, 0.0, 0.0, 0.0), (Sub, 0.0, 0.0, 0.0), (Mul, 0.0, 0.0, 0.0), (Div, 0.0, 0.0, 0.0)];
    for dt in COMPLEX {
        for &(op, b64, b128, floor) in &cases {
            let bound = if dt == DType::C64 { b64 } else { b128 };
            for (k, &n) in SIZES.iter().enumerate() {
                let t = TensorType::new(dt, [n]);
                let (x, y) = (carray(dt, &[n], 7 + k as u64, BOX, BOX), carray(dt, &[n], 70 + k as u64, BOX, BOX));
                let what = format!("{} {dt}[{n}]", op.name());
                check(&binary_fn(op, &t, &t, &[n]), &[x.clone(), y.clone()], bound, floor, &what);
                // A scalar operand broadcast over the other, on either side.
                let s = TensorType::scalar(dt);
                let ys = carray(dt, &[], 5, BOX, BOX);
                check(&binary_fn(op, &t, &s, &[n]), &[x.clone(), ys.clone()], bound, floor, &what);
                check(&binary_fn(op, &s, &t, &[n]), &[ys, x], bound, floor, &what);
            }
            // An outer product of broadcasts: [3,1] op [1,n] → [3,n].
            for n in [1, 5, 1000] {
                let (tx, ty) = (TensorType::new(dt, [3, 1]), TensorType::new(dt, [1, n]));
                let mut f = Function::new();
                let x = f.add_param(tx);
                let y = f.add_param(ty);
                let shape = Shape::new(&[3, n]);
                let bx =
                    f.push1(Prim::BroadcastInDim { shape: shape.clone(), dims: smallvec::smallvec![0, 1] }, &[x], None);
                let by = f.push1(Prim::BroadcastInDim { shape, dims: smallvec::smallvec![0, 1] }, &[y], None);
                let z = f.push1(Prim::Binary(op), &[bx.unwrap(), by.unwrap()], None).unwrap();
                f.outputs.push(z);
                let args = [carray(dt, &[3, 1], 1, BOX, BOX), carray(dt, &[1, n], 2, BOX, BOX)];
                check(&f, &args, bound, floor, &format!("{} {dt} [3,1]x[1,{n}]", op.name()));
            }
        }
    }
}

#[test]
fn pow_matches_the_interpreter() {
    for (d, dt) in COMPLEX.into_iter().enumerate() {
        let bound = [16.0, 16.0][d];
        let mut worst: f64 = 0.0;
        for (k, &n) in SIZES.iter().enumerate() {
            let t = TensorType::new(dt, [n]);
            let z = carray(dt, &[n], 11 + k as u64, (-3.0, 3.0), (-3.0, 3.0));
            let w = carray(dt, &[n], 12 + k as u64, (-2.0, 2.0), (-2.0, 2.0));
            worst = worst.max(check(&binary_fn(BinaryOp::Pow, &t, &t, &[n]), &[z, w], bound, 1.0, "pow"));
        }
        // 0^0 = 1, 0^w = 0 for re w > 0, z^0 = 1.
        let z = from_c128(dt, &[4], &[0.0.into(), 0.0.into(), Complex64::new(2.0, 1.0), 0.0.into()]);
        let w = from_c128(dt, &[4], &[0.0.into(), Complex64::new(1.5, 2.0), 0.0.into(), Complex64::new(-1.0, 0.0)]);
        let t = TensorType::new(dt, [4]);
        check(&binary_fn(BinaryOp::Pow, &t, &t, &[4]), &[z, w], 0.0, 0.0, "pow special cases");
        eprintln!("     pow {dt}: max error {worst:.2} eps (bound {bound})");
    }
}

#[test]
fn complex_from_parts_real_imag_and_conversions_are_exact() {
    for dt in COMPLEX {
        let r = dt.real();
        for (k, &n) in SIZES.iter().enumerate() {
            let t = TensorType::new(r, [n]);
            let x = common::array(r, &[n], 1 + k as u64, -5.0, 5.0);
            let y = common::array(r, &[n], 50 + k as u64, -5.0, 5.0);
            check(&binary_fn(BinaryOp::Complex, &t, &t, &[n]), &[x.clone(), y.clone()], 0.0, 0.0, "complex");
            // real(complex(x, y)) + imag(complex(x, y)) fuses into one vectorised loop over reals.
            let mut f = Function::new();
            let (px, py) = (f.add_param(t.clone()), f.add_param(t.clone()));
            let z = f.push1(Prim::Binary(BinaryOp::Complex), &[px, py], None).unwrap();
            let re = f.push1(Prim::Unary(UnaryOp::Real), &[z], None).unwrap();
            let im = f.push1(Prim::Unary(UnaryOp::Imag), &[z], None).unwrap();
            let s = f.push1(Prim::Binary(BinaryOp::Add), &[re, im], None).unwrap();
            let a = f.push1(Prim::Unary(UnaryOp::Abs), &[z], None).unwrap();
            f.outputs.extend([s, a]);
            check(&f, &[x, y], 2.0, 0.0, "real/imag/abs of complex(x, y)");
        }
        // Conversions to, from and between complex types, including NaN and infinities.
        let special = [
            Complex64::new(1.5, -2.0),
            Complex64::new(-0.0, 0.0),
            Complex64::new(0.0, 3.0),
            Complex64::new(f64::NAN, 1.0),
            Complex64::new(f64::INFINITY, -1.0),
            Complex64::new(-7.9, 1e30),
            Complex64::new(3e9, 0.0),
        ];
        let x = from_c128(dt, &[special.len()], &special);
        for to in [DType::C64, DType::C128, DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool] {
            let f = convert_fn(&TensorType::new(dt, [special.len()]), to);
            check(&f, std::slice::from_ref(&x), 0.0, 0.0, &format!("convert {dt} -> {to}"));
        }
        for from in [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool] {
            let n = 1000;
            let x = common::array(from, &[n], 3, -100.0, 100.0);
            let f = convert_fn(&TensorType::new(from, [n]), dt);
            check(&f, &[x], 0.0, 0.0, &format!("convert {from} -> {dt}"));
        }
    }
}

fn convert_fn(ty: &TensorType, to: DType) -> Function {
    let mut f = Function::new();
    let x = f.add_param(ty.clone());
    let y = f.push1(Prim::ConvertElementType { dtype: to }, &[x], None).unwrap();
    f.outputs.push(y);
    f
}

#[test]
fn compare_select_and_integer_pow_are_exact() {
    for dt in COMPLEX {
        for (k, &n) in SIZES.iter().enumerate() {
            let t = TensorType::new(dt, [n]);
            let x = carray(dt, &[n], 20 + k as u64, (-2.0, 2.0), (-2.0, 2.0));
            // y equals x at every third element, differs in one part elsewhere; one NaN.
            let mut yv: Vec<Complex64> = (0..n).map(|i| x.get(i).to_c128()).collect();
            for (i, v) in yv.iter_mut().enumerate() {
                match i % 3 {
                    0 => {}
                    1 => v.re += 1.0,
                    _ => v.im -= 0.5,
                }
            }
            if n > 4 {
                yv[4] = Complex64::new(f64::NAN, 0.0);
            }
            let y = from_c128(dt, &[n], &yv);
            for op in [CompareOp::Eq, CompareOp::Ne] {
                let mut f = Function::new();
                let (px, py) = (f.add_param(t.clone()), f.add_param(t.clone()));
                let m = f.push1(Prim::Compare(op), &[px, py], None).unwrap();
                // select(x op y, x, y): the mask feeds a complex select in the same loop.
                let s = f.push1(Prim::Select, &[m, px, py], None).unwrap();
                f.outputs.extend([m, s]);
                check(&f, &[x.clone(), y.clone()], 0.0, 0.0, &format!("{} + select {dt}[{n}]", op.name()));
            }
            for p in [-3, -1, 0, 1, 2, 3, 7] {
                let mut f = Function::new();
                let px = f.add_param(t.clone());
                let z = f.push1(Prim::IntegerPow { y: p }, &[px], None).unwrap();
                f.outputs.push(z);
                check(&f, std::slice::from_ref(&x), 0.0, 0.0, &format!("integer_pow[{p}] {dt}[{n}]"));
            }
        }
    }
}

fn reduce_fn(op: ReduceOp, ty: &TensorType, axes: &[usize]) -> Function {
    let mut f = Function::new();
    let x = f.add_param(ty.clone());
    let y = f.push1(Prim::Reduce { op, axes: axes.iter().copied().collect() }, &[x], None).unwrap();
    f.outputs.push(y);
    f
}

/// Sums are two real sums (in the fused loops' fixed order, not the interpreter's): their error is
/// bounded relative to `Σ|x|`. Products run natively in the interpreter's order: bit for bit.
#[test]
fn sums_and_products_match_the_interpreter() {
    for dt in COMPLEX {
        for (k, &n) in SIZES.iter().enumerate() {
            let t = TensorType::new(dt, [n]);
            let x = carray(dt, &[n], 30 + k as u64, (-1.0, 1.0), (-1.0, 1.0));
            let (_, got, want) = run_both(&reduce_fn(ReduceOp::Sum, &t, &[0]), std::slice::from_ref(&x));
            let l1: f64 = (0..n).map(|i| x.get(i).to_c128().norm()).sum::<f64>().max(1e-300);
            let d = (got[0].get(0).to_c128() - want[0].get(0).to_c128()).norm();
            assert!(d <= 2.0 * n as f64 * eps(dt) * l1, "sum {dt}[{n}]: {d} vs Σ|x| = {l1}");
            // Products of values near the unit circle, so that 100003 factors stay finite.
            let u = carray(dt, &[n], 40 + k as u64, (0.999, 1.001), (-0.01, 0.01));
            check(&reduce_fn(ReduceOp::Prod, &t, &[0]), &[u], 0.0, 0.0, &format!("prod {dt}[{n}]"));
        }
        // Partial reductions over either axis of a matrix, and a fused chain feeding a sum.
        for (rows, cols) in [(3, 5), (64, 1000), (1000, 7)] {
            let t = TensorType::new(dt, [rows, cols]);
            let x = carray(dt, &[rows, cols], 9, (-1.0, 1.0), (-1.0, 1.0));
            for axes in [&[0][..], &[1], &[0, 1]] {
                let n = axes.iter().map(|&a| [rows, cols][a]).product::<usize>() as f64;
                let bound = 2.0 * n * std::f64::consts::SQRT_2;
                check(&reduce_fn(ReduceOp::Sum, &t, axes), std::slice::from_ref(&x), bound, 1.0, "sum axes");
                check(&reduce_fn(ReduceOp::Prod, &t, axes), std::slice::from_ref(&x), 0.0, 0.0, "prod axes");
            }
        }
    }
}

fn axes(a: &[usize]) -> gradjit_ir::Axes {
    a.iter().copied().collect()
}

fn dot_fn(lt: &TensorType, rt: &TensorType, dims: DotDims) -> Function {
    let mut f = Function::new();
    let l = f.add_param(lt.clone());
    let r = f.add_param(rt.clone());
    let y = f.push1(Prim::DotGeneral(dims), &[l, r], None).unwrap();
    f.outputs.push(y);
    f
}

/// `dot_general` runs `gemm`'s complex kernels: each entry within `4k·eps·Σ|l||r|` of the interpreter's.
#[test]
fn dot_general_matches_the_interpreter() {
    for dt in COMPLEX {
        // (batch, m, k, n); k = 0 gives zeros.
        for (b, m, k, n) in [(0, 3, 4, 5), (0, 1, 1, 1), (0, 17, 33, 9), (0, 64, 128, 48), (0, 4, 0, 3), (2, 5, 6, 7)] {
            let (ls, rs): (Vec<usize>, Vec<usize>) =
                if b == 0 { (vec![m, k], vec![k, n]) } else { (vec![b, m, k], vec![b, k, n]) };
            let dims = if b == 0 {
                DotDims {
                    lhs_contract: axes(&[1]),
                    rhs_contract: axes(&[0]),
                    lhs_batch: axes(&[]),
                    rhs_batch: axes(&[]),
                }
            } else {
                DotDims {
                    lhs_contract: axes(&[2]),
                    rhs_contract: axes(&[1]),
                    lhs_batch: axes(&[0]),
                    rhs_batch: axes(&[0]),
                }
            };
            let (lt, rt) = (TensorType::new(dt, ls.clone()), TensorType::new(dt, rs.clone()));
            let l = carray(dt, &ls, 1, (-1.0, 1.0), (-1.0, 1.0));
            let r = carray(dt, &rs, 2, (-1.0, 1.0), (-1.0, 1.0));
            let f = dot_fn(&lt, &rt, dims);
            let (exe, got, want) = run_both(&f, &[l, r]);
            assert!(exe.plan().steps.iter().all(|s| matches!(s, Step::Host { .. })), "one host GEMM step");
            // |l|, |r| ≤ √2: Σ|l||r| ≤ 2k.
            let tol = 4.0 * (k as f64) * eps(dt) * 2.0 * k as f64;
            for i in 0..want[0].numel() {
                let d = (got[0].get(i).to_c128() - want[0].get(i).to_c128()).norm();
                assert!(d <= tol.max(0.0), "dot {dt} {b}x{m}x{k}x{n} entry {i}: {d} > {tol}");
            }
        }
    }
}

/// A chain of complex operations, reductions and broadcasts compiles to loop kernels only (no host
/// step, no interpreter), and agrees with the interpreter.
#[test]
fn complex_chains_fuse_into_loops() {
    let text = |c: &str, r: &str| {
        format!(
            "{{ lambda ; x:{r}[1000] y:{r}[1000] s:{c}[]. let
                z:{c}[1000] = complex x y
                e:{c}[1000] = exp z
                w:{c}[1000] = conj z
                p:{c}[1000] = mul e w
                b:{c}[1000] = broadcast_in_dim[shape=(1000,) broadcast_dimensions=()] s
                q:{c}[1000] = div p b
                t:{c}[1000] = tanh q
                a:{r}[1000] = abs t
                m:{c}[] = reduce_sum[axes=(0,)] t
                k:{c}[1000] = integer_pow[y=3] z
                c2:{c}[1000] = add k t
              in (a, m, c2) }}"
        )
    };
    for dt in COMPLEX {
        let f = gradjit_ir::parse_function(&text(dt.name(), dt.real().name())).expect("parses");
        let x = common::array(dt.real(), &[1000], 1, -1.0, 1.0);
        let y = common::array(dt.real(), &[1000], 2, -1.0, 1.0);
        let s = from_c128(dt, &[], &[Complex64::new(1.5, -0.5)]);
        let (exe, got, want) = run_both(&f, &[x, y, s]);
        assert!(exe.plan().steps.iter().all(|s| matches!(s, Step::Kernel(_))), "{}", exe.plan());
        for (g, w) in got.iter().zip(&want) {
            let e = max_error(g, w, 1.0, eps(dt));
            assert!(e <= 64.0, "{dt}: chain error {e:.2} eps (the sum is in another order)");
        }
    }
}

/// `c64` results against the `c128` interpreter (exact to far below an f32 ulp) where the inputs are
/// large or near a cut, a pole or an overflow: the stable formulas keep every result accurate.
#[test]
fn wide_range_accuracy_against_c128() {
    use UnaryOp::*;
    let cases: [(UnaryOp, Vec<Complex64>, f64); 6] = [
        // cosh(89) is finite in f32 although e^89 is not.
        (Sin, vec![Complex64::new(1.0, 89.0), Complex64::new(-2.5, -88.5), Complex64::new(1e4, 3.0)], 8.0),
        (Cos, vec![Complex64::new(0.3, 89.0), Complex64::new(3.0, -60.0), Complex64::new(-7e3, 0.5)], 8.0),
        (Exp, vec![Complex64::new(88.0, 1e3), Complex64::new(-80.0, 2.0), Complex64::new(1e-8, 1e-8)], 8.0),
        // Near the negative real axis the polar form loses the real part; Kahan's does not.
        (Sqrt, vec![Complex64::new(-4.0, 1e-6), Complex64::new(-1e30, 1e-10), Complex64::new(1e-30, -1e30)], 4.0),
        (Abs, vec![Complex64::new(3e38, 1e38), Complex64::new(1e-30, -1e-30), Complex64::new(-5e37, 2e38)], 1.0),
        (Log, vec![Complex64::new(3e38, 3e38), Complex64::new(-1e-20, 1e-30), Complex64::new(0.6, 0.8)], 4.0),
    ];
    for (op, vals, bound) in cases {
        let n = vals.len();
        let x64 = from_c128(DType::C64, &[n], &vals);
        let f = unary_fn(op, &TensorType::new(DType::C64, [n]));
        let got = compile(&f, &CompileOptions::default()).unwrap().run(&[&x64]).unwrap();
        // The reference: the same (rounded) inputs in c128.
        let exact: Vec<Complex64> = (0..n).map(|i| x64.get(i).to_c128()).collect();
        let x128 = from_c128(DType::C128, &[n], &exact);
        let want = interp::run(&unary_fn(op, &TensorType::new(DType::C128, [n])), &[x128]).unwrap();
        for (i, z) in vals.iter().enumerate() {
            let (g, w) = (got[0].get(i).to_c128(), want[0].get(i).to_c128());
            // Each part to within `bound` ulps of its own magnitude or of |w|·eps.
            for (gp, wp) in [(g.re, w.re), (g.im, w.im)] {
                let tol = bound * f32::EPSILON as f64 * wp.abs().max(w.norm() * 1e-7);
                assert!((gp - wp).abs() <= tol || gp == wp, "{} at {z}: {g} vs {w}", op.name());
            }
        }
    }
}

/// Where `num_complex`'s `tanh` is NaN (`sinh 2a` overflows) or cancels (near the poles at `a = 0`,
/// `b = π/2 + kπ`), the compiled one is accurate: checked against closed forms and `c128` references.
#[test]
fn tanh_and_tan_are_accurate_near_poles_and_far_out() {
    for dt in COMPLEX {
        let big = [Complex64::new(400.0, 1.0), Complex64::new(-1e4, -2.0), Complex64::new(f64::INFINITY, 0.5)];
        let x = from_c128(dt, &[3], &big);
        let f = unary_fn(UnaryOp::Tanh, &TensorType::new(dt, [3]));
        let got = compile(&f, &CompileOptions::default()).unwrap().run(&[&x]).unwrap();
        let vals: Vec<Complex64> = (0..3).map(|i| got[0].get(i).to_c128()).collect();
        assert_eq!(vals[0].re, 1.0);
        assert_eq!(vals[1].re, -1.0);
        assert_eq!(vals[2].re, 1.0);
        assert!(vals.iter().all(|v| v.im.abs() < 1e-300), "{vals:?}");
        // tan far from the real axis: ±i.
        let x = from_c128(dt, &[2], &[Complex64::new(0.7, 500.0), Complex64::new(-0.2, -1e4)]);
        let f = unary_fn(UnaryOp::Tan, &TensorType::new(dt, [2]));
        let got = compile(&f, &CompileOptions::default()).unwrap().run(&[&x]).unwrap();
        assert_eq!((got[0].get(0).to_c128().im, got[0].get(1).to_c128().im), (1.0, -1.0));
    }
    // c64 beside its poles, against c128 (whose own pole error is far below an f32 ulp there).
    let h = std::f64::consts::FRAC_PI_2;
    let near: Vec<Complex64> = (1..=40)
        .map(|i| Complex64::new(1e-3 * (i % 5) as f64, h + (i as f64 - 20.5) * 1e-4))
        .chain((1..=10).map(|i| Complex64::new(2e-4 * i as f64, -3.0 * h)))
        .collect();
    let n = near.len();
    let x64 = from_c128(DType::C64, &[n], &near);
    let got = compile(&unary_fn(UnaryOp::Tanh, &TensorType::new(DType::C64, [n])), &CompileOptions::default())
        .unwrap()
        .run(&[&x64])
        .unwrap();
    for i in 0..n {
        let z = x64.get(i).to_c128();
        let want = z.tanh();
        let g = got[0].get(i).to_c128();
        let e = (g - want).norm() / want.norm() / f32::EPSILON as f64;
        assert!(e <= 8.0, "tanh c64 at {z}: {g} vs {want} ({e:.1} eps)");
    }
}

/// Special values bit for bit with the interpreter: zeros of either sign, infinities, the branch cut.
#[test]
fn special_values_match_the_interpreter() {
    use UnaryOp::*;
    let inf = f64::INFINITY;
    let specials = [
        Complex64::new(0.0, 0.0),
        Complex64::new(-0.0, 0.0),
        Complex64::new(0.0, -0.0),
        Complex64::new(-4.0, 0.0),
        Complex64::new(-4.0, -0.0),
        Complex64::new(4.0, 0.0),
        Complex64::new(inf, 0.0),
        Complex64::new(-inf, 0.0),
        Complex64::new(f64::NAN, 0.0),
    ];
    for dt in COMPLEX {
        let x = from_c128(dt, &[specials.len()], &specials);
        for op in [Exp, Sqrt, Log, Abs, Neg, Conj] {
            let f = unary_fn(op, &TensorType::new(dt, [specials.len()]));
            let (_, got, want) = run_both(&f, std::slice::from_ref(&x));
            for (i, z) in specials.iter().enumerate() {
                let (g, w) = (got[0].get(i).to_c128(), want[0].get(i).to_c128());
                // Zeros, infinities and NaNs exactly (with the sign of zeros); finite values within 2 eps.
                let same = |a: f64, b: f64| {
                    a.to_bits() == b.to_bits()
                        || (a.is_nan() && b.is_nan())
                        || (a.is_finite() && b != 0.0 && ((a - b) / b).abs() <= 2.0 * eps(dt))
                };
                assert!(same(g.re, w.re) && same(g.im, w.im), "{} {dt} at {z}: {g} vs {w}", op.name());
            }
        }
    }
}

/// `grad` of complex functions, compiled: JAX's conventions at `1+2j`.
#[test]
fn complex_gradients_compile() {
    for dt in COMPLEX {
        let c = dt.name();
        let r = dt.real().name();
        // Holomorphic: d(z² + 3z)/dz = 2z + 3 = 5+4j.
        let holo = gradjit_ir::parse_function(&format!(
            "{{ lambda ; z:{c}[]. let
                a:{c}[] = integer_pow[y=2] z
                t:{c}[] = constant[value=3.0+0.0j]
                b:{c}[] = mul t z
                l:{c}[] = add a b
              in (l,) }}"
        ))
        .expect("parses");
        // Real loss of a complex input: |z|² = re(z · conj z); JAX's gradient is 2·z̄ = 2-4j.
        let norm2 = gradjit_ir::parse_function(&format!(
            "{{ lambda ; z:{c}[]. let
                w:{c}[] = conj z
                p:{c}[] = mul z w
                l:{r}[] = real p
              in (l,) }}"
        ))
        .expect("parses");
        let z = from_c128(dt, &[], &[Complex64::new(1.0, 2.0)]);
        for (f, want) in [(&holo, Complex64::new(5.0, 4.0)), (&norm2, Complex64::new(2.0, -4.0))] {
            let g = gradjit_autodiff::grad(f, &[0]).expect("grad");
            let exe = compile(&g, &CompileOptions::default()).expect("compiles");
            let out = exe.run(&[&z]).unwrap();
            assert_eq!(out[1].get(0).to_c128(), want, "{dt}\n{g}");
            assert_eq!(interp::run(&g, std::slice::from_ref(&z)).unwrap()[1].get(0).to_c128(), want);
        }
        // The same over a vector (a fused loop and a sum): the gradient at z_i is 2·conj(z_i).
        let n = 1003;
        let vec_norm2 = gradjit_ir::parse_function(&format!(
            "{{ lambda ; z:{c}[{n}]. let
                w:{c}[{n}] = conj z
                p:{c}[{n}] = mul z w
                q:{r}[{n}] = real p
                l:{r}[] = reduce_sum[axes=(0,)] q
              in (l,) }}"
        ))
        .expect("parses");
        let zs = carray(dt, &[n], 77, (-2.0, 2.0), (-2.0, 2.0));
        let g = gradjit_autodiff::grad(&vec_norm2, &[0]).expect("grad");
        let out = compile(&g, &CompileOptions::default()).unwrap().run(&[&zs]).unwrap();
        for i in 0..n {
            let zi = zs.get(i).to_c128();
            assert_eq!(out[1].get(i).to_c128(), 2.0 * zi.conj(), "element {i}");
        }
    }
}

/// A complex sum of an input feeding a loop over the same input (`x - mean(x)`): the prologue's own
/// reduction loop leaves a complex scalar in a slot, beside a real one.
#[test]
fn complex_prologue_reductions_feed_loops() {
    for dt in COMPLEX {
        let (c, r) = (dt.name(), dt.real().name());
        let f = gradjit_ir::parse_function(&format!(
            "{{ lambda ; x:{c}[999] v:{r}[999]. let
                s:{c}[] = reduce_sum[axes=(0,)] x
                k:{c}[] = constant[value=0.001001001001001001+0.0j]
                m:{c}[] = mul s k
                w:{r}[] = reduce_sum[axes=(0,)] v
                mb:{c}[999] = broadcast_in_dim[shape=(999,) broadcast_dimensions=()] m
                wb:{r}[999] = broadcast_in_dim[shape=(999,) broadcast_dimensions=()] w
                y:{c}[999] = sub x mb
                yr:{r}[999] = real y
                z:{r}[999] = add yr wb
              in (y, z) }}"
        ))
        .expect("parses");
        let x = carray(dt, &[999], 5, (-1.0, 1.0), (-1.0, 1.0));
        let v = common::array(dt.real(), &[999], 6, -1.0, 1.0);
        let (exe, got, want) = run_both(&f, &[x, v]);
        assert!(exe.plan().kernels().any(|k| !k.prologue.is_empty()), "{}", exe.plan());
        for (g, w) in got.iter().zip(&want) {
            // Sums in another order than the interpreter's left fold: their error is a few eps of Σ|x| (~500).
            let e = max_error(g, w, 1.0, eps(dt));
            assert!(e <= 128.0, "{dt}: {e:.1} eps");
        }
    }
}

/// A `c128` value computed once and broadcast (a prologue slot of 16 bytes) next to real ones.
#[test]
fn complex_scalars_in_slots_keep_their_alignment() {
    for dt in COMPLEX {
        let (c, r) = (dt.name(), dt.real().name());
        let f = gradjit_ir::parse_function(&format!(
            "{{ lambda ; x:{c}[1000] a:{r}[] s:{c}[]. let
                b:{r}[] = exp a
                t:{c}[] = exp s
                u:{c}[] = mul t s
                bb:{r}[1000] = broadcast_in_dim[shape=(1000,) broadcast_dimensions=()] b
                ub:{c}[1000] = broadcast_in_dim[shape=(1000,) broadcast_dimensions=()] u
                z:{c}[1000] = mul x ub
                zr:{r}[1000] = real z
                y:{r}[1000] = add zr bb
              in (y, z) }}"
        ))
        .expect("parses");
        let x = carray(dt, &[1000], 3, (-1.0, 1.0), (-1.0, 1.0));
        let a = common::array(dt.real(), &[], 4, -1.0, 1.0);
        let s = from_c128(dt, &[], &[Complex64::new(0.25, -0.75)]);
        check(&f, &[x, a, s], 16.0, 0.0, &format!("slots {dt}"));
    }
}

/// Complex memory is read and written by vector loops (shuffles between interleaved memory and lanes of
/// real and imaginary parts), for both widths.
#[test]
fn complex_loops_are_vectorised() {
    for (dt, lanes) in [(DType::C64, "f32x4"), (DType::C128, "f64x2")] {
        let t = TensorType::new(dt, [1003]);
        let f = binary_fn(BinaryOp::Mul, &t, &t, &[1003]);
        let exe = compile(&f, &CompileOptions { dumps: true, ..CompileOptions::default() }).expect("compiles");
        let clif = &exe.dumps().clif;
        assert!(clif.contains("shuffle") && clif.contains(lanes), "{dt}: no vector loop over complex memory\n{clif}");
        let args = [carray(dt, &[1003], 1, (-2.0, 2.0), (-2.0, 2.0)), carray(dt, &[1003], 2, (-2.0, 2.0), (-2.0, 2.0))];
        check(&f, &args, 0.0, 0.0, "vectorised mul");
    }
}

/// Complex sums (split into chunks with partials) and GEMMs (split over cores) give the same bits on one
/// thread and on several.
#[test]
fn complex_results_do_not_depend_on_the_thread_count() {
    for dt in COMPLEX {
        let (c, n) = (dt.name(), 100_003);
        let f = gradjit_ir::parse_function(&format!(
            "{{ lambda ; x:{c}[{n}] l:{c}[96,200] r:{c}[200,160]. let
                e:{c}[{n}] = exp x
                s:{c}[] = reduce_sum[axes=(0,)] e
                p:{c}[96,160] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] l r
              in (s, p) }}"
        ))
        .expect("parses");
        let args = [
            carray(dt, &[n], 1, (-1.0, 1.0), (-3.0, 3.0)),
            carray(dt, &[96, 200], 2, (-1.0, 1.0), (-1.0, 1.0)),
            carray(dt, &[200, 160], 3, (-1.0, 1.0), (-1.0, 1.0)),
        ];
        let refs: Vec<&HostArray> = args.iter().collect();
        let run = |threads| {
            let exe = compile(&f, &CompileOptions { threads: Some(threads), ..CompileOptions::default() }).unwrap();
            exe.run(&refs).unwrap()
        };
        let (one, four) = (run(1), run(4));
        for (a, b) in one.iter().zip(&four) {
            assert_eq!(a.bytes(), b.bytes(), "{dt}: results differ between 1 and 4 threads");
        }
    }
}

/// A scan whose body is complex (a rotation with damping, carried for 100 steps): the body's loops are
/// complex kernels too.
#[test]
fn complex_scan_bodies_compile() {
    for dt in COMPLEX {
        let c = dt.name();
        let f = gradjit_ir::parse_function(&format!(
            "{{ lambda ; a:{c}[8] b:{c}[8] x:{c}[100,8]. let
                d:{c}[8] e:{c}[100,8] = scan[length=100 reverse=false num_consts=1 num_carry=1 body={{ lambda ; a:{c}[8] b:{c}[8] x:{c}[8]. let
                        m:{c}[8] = mul a b
                        s:{c}[8] = add m x
                        t:{c}[8] = tanh s
                      in (t, m) }}] a b x
              in (d, e) }}"
        ))
        .expect("parses");
        let args = [
            carray(dt, &[8], 1, (-0.5, 0.5), (-1.0, 1.0)),
            carray(dt, &[8], 2, (-1.0, 1.0), (-1.0, 1.0)),
            carray(dt, &[100, 8], 3, (-0.1, 0.1), (-0.1, 0.1)),
        ];
        check(&f, &args, 64.0, 1.0, &format!("scan {dt}"));
    }
}
