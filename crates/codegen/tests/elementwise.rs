//! Differential tests of every elementwise primitive against the interpreter, in f32 and f64 (and the
//! integer and bool dtypes that accept them), at every size of `common::SIZES`, with operands broadcast
//! from scalars and from size-1 dimensions.

mod common;

use common::{array, check, Tol, SIZES};
use gradjit_ir::{BinaryOp, CompareOp, DType, Function, Prim, Scalar, Shape, TensorType, UnaryOp, Value};

const FLOATS: [DType; 2] = [DType::F32, DType::F64];

/// Functions whose compiled results may differ from `std`'s: the polynomial approximations of `math`
/// (bounds in docs/transcendentals.md, plus `std`'s own error). Everything else must be exact.
fn unary_tol(op: UnaryOp) -> Tol {
    use UnaryOp::*;
    match op {
        Exp | Expm1 | Log | Log1p | Sin | Cos | Tan | Tanh | Logistic | Erf => Tol::Ulps(6),
        _ => Tol::Exact,
    }
}

/// Inputs on which the operation is interesting (and mostly defined).
fn unary_domain(op: UnaryOp) -> (f64, f64) {
    use UnaryOp::*;
    match op {
        Log | Sqrt | Rsqrt => (1e-3, 50.0),
        Log1p => (-0.9, 20.0),
        Exp | Expm1 => (-30.0, 30.0),
        Tan => (-1.5, 1.5),
        _ => (-6.0, 6.0),
    }
}

fn unary_fn(op: UnaryOp, ty: &TensorType) -> Function {
    let mut f = Function::new();
    let x = f.add_param(ty.clone());
    let y = f.push1(Prim::Unary(op), &[x], None).unwrap();
    f.outputs.push(y);
    f
}

#[test]
fn unary_float_ops_match_the_interpreter() {
    use UnaryOp::*;
    let ops = [
        Neg, Abs, Sign, Exp, Expm1, Log, Log1p, Sqrt, Rsqrt, Tanh, Logistic, Sin, Cos, Tan, Erf, Floor, Ceil, Round,
        IsFinite,
    ];
    for dt in FLOATS {
        for op in ops {
            for (k, &n) in SIZES.iter().enumerate() {
                let ty = TensorType::new(dt, [n]);
                let (lo, hi) = unary_domain(op);
                let x = array(dt, &[n], k as u64 + 1, lo, hi);
                check(&unary_fn(op, &ty), &[x], unary_tol(op));
            }
        }
    }
}

#[test]
fn unary_ops_on_special_values() {
    use UnaryOp::*;
    let ops = [Neg, Abs, Sign, Exp, Expm1, Log, Log1p, Sqrt, Tanh, Logistic, Sin, Cos, Floor, Ceil, Round, IsFinite];
    let specials =
        [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 1e-30, -1e-30, 1e30, f64::INFINITY, f64::NEG_INFINITY, f64::NAN];
    for dt in FLOATS {
        let n = specials.len();
        let mut x = gradjit_ir::HostArray::zeros(dt, [n]);
        for (i, &v) in specials.iter().enumerate() {
            x.set(i, Scalar::F64(v));
        }
        for op in ops {
            let mut x = x.clone();
            if matches!(op, Sin | Cos) {
                // Outside the range the trig reduction is documented for (docs/transcendentals.md).
                x.set(10, Scalar::F64(1e4));
            }
            check(&unary_fn(op, &TensorType::new(dt, [n])), &[x], unary_tol(op));
        }
    }
}

#[test]
fn integer_and_bool_unary_ops() {
    use UnaryOp::*;
    for (dt, ops) in
        [(DType::I32, &[Neg, Abs, Sign, Not][..]), (DType::I64, &[Neg, Abs, Sign, Not]), (DType::Bool, &[Not])]
    {
        for &op in ops {
            for &n in &[0, 1, 5, 1000] {
                let x = array(dt, &[n], 3, -100.0, 100.0);
                check(&unary_fn(op, &TensorType::new(dt, [n])), &[x], Tol::Exact);
            }
        }
    }
}

/// `op(a, b)` where `a` has the full shape and `b` is broadcast according to `shape_b`.
fn binary_fn(prim: Prim, dt: DType, n: usize, b_shape: &[usize]) -> Function {
    let mut f = Function::new();
    let a = f.add_param(TensorType::new(dt, [n]));
    let b = f.add_param(TensorType::new(dt, b_shape.to_vec()));
    let bb = if b_shape == [n] {
        b
    } else {
        let dims = if b_shape.is_empty() { vec![] } else { vec![0] };
        f.push1(Prim::BroadcastInDim { shape: Shape::new(&[n]), dims: dims.into() }, &[b], None).unwrap()
    };
    let y = f.push1(prim, &[a, bb], None).unwrap();
    f.outputs.push(y);
    f
}

fn binary_tol(op: BinaryOp) -> Tol {
    if matches!(op, BinaryOp::Pow | BinaryOp::Atan2) {
        Tol::Ulps(6)
    } else {
        Tol::Exact
    }
}

#[test]
fn binary_float_ops_match_the_interpreter() {
    use BinaryOp::*;
    for dt in FLOATS {
        for op in [Add, Sub, Mul, Div, Pow, Max, Min, Rem, Atan2] {
            let lo = if op == Pow { 0.1 } else { -5.0 };
            for (k, &n) in SIZES.iter().enumerate() {
                for b_shape in [vec![n], vec![], vec![1]] {
                    let a = array(dt, &[n], 2 * k as u64 + 1, lo, 5.0);
                    let b = array(dt, &b_shape, 2 * k as u64 + 2, lo, 5.0);
                    check(&binary_fn(Prim::Binary(op), dt, n, &b_shape), &[a, b], binary_tol(op));
                }
            }
        }
    }
}

#[test]
fn integer_and_bool_binary_ops() {
    use BinaryOp::*;
    let int_ops = [Add, Sub, Mul, Div, Rem, Pow, Max, Min, And, Or, ShiftRightLogical];
    for dt in [DType::I32, DType::I64] {
        for op in int_ops {
            for &n in &[0, 1, 7, 1000] {
                let (lo, hi) = if op == Pow || op == ShiftRightLogical { (-3.0, 40.0) } else { (-50.0, 50.0) };
                let a = array(dt, &[n], 5, -50.0, 50.0);
                let b = array(dt, &[n], 6, lo, hi);
                check(&binary_fn(Prim::Binary(op), dt, n, &[n]), &[a, b], Tol::Exact);
            }
        }
    }
    for op in [And, Or] {
        let a = array(DType::Bool, &[37], 1, 0.0, 1.0);
        let b = array(DType::Bool, &[37], 2, 0.0, 1.0);
        check(&binary_fn(Prim::Binary(op), DType::Bool, 37, &[37]), &[a, b], Tol::Exact);
    }
}

#[test]
fn comparisons_and_select() {
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool] {
        for op in CompareOp::ALL {
            for &n in &[0, 1, 5, 8, 1000] {
                let a = array(dt, &[n], 9, -3.0, 3.0);
                let b = array(dt, &[n], 10, -3.0, 3.0);
                check(&binary_fn(Prim::Compare(*op), dt, n, &[n]), &[a, b], Tol::Exact);
            }
        }
    }
    // select(a < b, a * 2, b), fused: the comparison mask feeds a bitselect.
    for dt in [DType::F32, DType::F64, DType::I32] {
        for &n in &SIZES {
            let mut f = Function::new();
            let ty = TensorType::new(dt, [n]);
            let a = f.add_param(ty.clone());
            let b = f.add_param(ty.clone());
            let p = f.push1(Prim::Compare(CompareOp::Lt), &[a, b], None).unwrap();
            let two = f.push1(Prim::splat(2.0, &ty), &[], None).unwrap();
            let a2 = f.push1(Prim::Binary(BinaryOp::Mul), &[a, two], None).unwrap();
            let y = f.push1(Prim::Select, &[p, a2, b], None).unwrap();
            f.outputs.push(y);
            check(&f, &[array(dt, &[n], 11, -3.0, 3.0), array(dt, &[n], 12, -3.0, 3.0)], Tol::Exact);
        }
    }
}

#[test]
fn conversions_between_all_dtypes() {
    let dts = [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool];
    for from in dts {
        for to in dts {
            for &n in &[0, 3, 8, 1001] {
                let mut f = Function::new();
                let x = f.add_param(TensorType::new(from, [n]));
                let y = f.push1(Prim::ConvertElementType { dtype: to }, &[x], None).unwrap();
                f.outputs.push(y);
                let mut x = array(from, &[n], 13, -1e10, 1e10);
                if from.is_float() && n > 2 {
                    x.set(0, Scalar::F64(f64::NAN));
                    x.set(1, Scalar::F64(-0.0));
                    x.set(2, Scalar::F64(0.75));
                }
                check(&f, &[x], Tol::Exact);
            }
        }
    }
    // bool -> float inside a vectorised float loop: (a < b) * a.
    for dt in FLOATS {
        let mut f = Function::new();
        let ty = TensorType::new(dt, [1003]);
        let a = f.add_param(ty.clone());
        let b = f.add_param(ty.clone());
        let p = f.push1(Prim::Compare(CompareOp::Lt), &[a, b], None).unwrap();
        let m = f.push1(Prim::ConvertElementType { dtype: dt }, &[p], None).unwrap();
        let y = f.push1(Prim::Binary(BinaryOp::Mul), &[m, a], None).unwrap();
        f.outputs.push(y);
        check(&f, &[array(dt, &[1003], 1, -1.0, 1.0), array(dt, &[1003], 2, -1.0, 1.0)], Tol::Exact);
    }
}

#[test]
fn integer_pow_matches_the_multiplication_sequence() {
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for y in [-3, -1, 0, 1, 2, 3, 5, 8] {
            for &n in &[1, 7, 1000] {
                let mut f = Function::new();
                let x = f.add_param(TensorType::new(dt, [n]));
                let r = f.push1(Prim::IntegerPow { y }, &[x], None).unwrap();
                f.outputs.push(r);
                check(&f, &[array(dt, &[n], 14, -3.0, 3.0)], Tol::Exact);
            }
        }
    }
}

#[test]
fn iota_and_constants_fuse_as_index_expressions() {
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for &(m, n) in &[(1, 1), (3, 5), (4, 8), (7, 1000), (2, 100003)] {
            // x * iota(axis 1) + iota(axis 0) + 0.5
            let mut f = Function::new();
            let ty = TensorType::new(dt, [m, n]);
            let x = f.add_param(ty.clone());
            let i1 = f.push1(Prim::Iota { dtype: dt, shape: Shape::new(&[m, n]), axis: 1 }, &[], None).unwrap();
            let i0 = f.push1(Prim::Iota { dtype: dt, shape: Shape::new(&[m, n]), axis: 0 }, &[], None).unwrap();
            let c = f.push1(Prim::splat(0.5, &ty), &[], None).unwrap();
            let a = f.push1(Prim::Binary(BinaryOp::Mul), &[x, i1], None).unwrap();
            let b = f.push1(Prim::Binary(BinaryOp::Add), &[a, i0], None).unwrap();
            let y = f.push1(Prim::Binary(BinaryOp::Add), &[b, c], None).unwrap();
            f.outputs.extend([y, i1]);
            check(&f, &[array(dt, &[m, n], 15, -2.0, 2.0)], Tol::Exact);
        }
    }
}

/// `a:[m,1] + b:[1,n]` and `a:[m] * s:[]` through `broadcast_in_dim`: size-1 dimensions and scalars
/// become stride-0 accesses of one loop.
#[test]
fn broadcasting_of_scalars_and_size_one_dimensions() {
    for dt in FLOATS {
        for &(m, n) in &[(1, 1), (1, 7), (5, 1), (3, 4), (7, 5), (8, 1000), (3, 33335)] {
            let mut f = Function::new();
            let a = f.add_param(TensorType::new(dt, [m, 1]));
            let b = f.add_param(TensorType::new(dt, [1, n]));
            let s = f.add_param(TensorType::new(dt, []));
            let shape = Shape::new(&[m, n]);
            let bc = |f: &mut Function, v: Value, dims: Vec<usize>| {
                f.push1(Prim::BroadcastInDim { shape: shape.clone(), dims: dims.into() }, &[v], None).unwrap()
            };
            let ab = bc(&mut f, a, vec![0, 1]);
            let bb = bc(&mut f, b, vec![0, 1]);
            let sb = bc(&mut f, s, vec![]);
            let t = f.push1(Prim::Binary(BinaryOp::Add), &[ab, bb], None).unwrap();
            let y = f.push1(Prim::Binary(BinaryOp::Mul), &[t, sb], None).unwrap();
            let z = f.push1(Prim::Unary(UnaryOp::Exp), &[y], None).unwrap();
            f.outputs.extend([y, z]);
            let args =
                [array(dt, &[m, 1], 1, -1.0, 1.0), array(dt, &[1, n], 2, -1.0, 1.0), array(dt, &[], 3, -1.0, 1.0)];
            check(&f, &args, Tol::Ulps(4));
        }
    }
}
