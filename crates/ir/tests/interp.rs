//! The interpreter's table of cases: every primitive kind, checked against hand-computed values
//! in f32 and f64 (and the integer, bool and complex dtypes each accepts).
//!
//! `every_primitive_kind_has_a_case` fails when a primitive is added without a case here.

use gradjit_ir::interp::{apply, run};
use gradjit_ir::{
    ArgOp, BinaryOp, CompareOp, DType, DotDims, Element, Function, HostArray, Literal, Prim, PrimKind, ReduceOp,
    Scalar, Shape, TensorType, UnaryOp,
};
use num_complex::{Complex32, Complex64};
use std::collections::BTreeSet;
use std::f64::consts::{E, FRAC_PI_2, FRAC_PI_3, FRAC_PI_4, FRAC_PI_6, PI};
use std::sync::Arc;

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;
const FLOATS: [DType; 2] = [DType::F32, DType::F64];
const INTS: [DType; 2] = [DType::I32, DType::I64];

/// One application of a primitive and the result it must give.
struct Case {
    prim: Prim,
    inputs: Vec<HostArray>,
    want: HostArray,
}

fn case(prim: Prim, inputs: Vec<HostArray>, want: HostArray) -> Case {
    Case { prim, inputs, want }
}

/// An array from row-major data.
fn arr<T: Element>(dims: &[usize], data: &[T]) -> HostArray {
    HostArray::from_slice(dims, data).expect("data fits the shape")
}

/// An f64 array converted to `dtype`.
fn of(dtype: DType, dims: &[usize], data: &[f64]) -> HostArray {
    arr(dims, data).cast(dtype)
}

/// A vector of f64 values converted to `dtype`.
fn vec_of(dtype: DType, data: &[f64]) -> HostArray {
    of(dtype, &[data.len()], data)
}

fn bools(data: &[bool]) -> HostArray {
    arr(&[data.len()], data)
}

fn c64(data: &[(f32, f32)]) -> HostArray {
    arr(&[data.len()], &data.iter().map(|&(re, im)| Complex32::new(re, im)).collect::<Vec<_>>())
}

fn c128(data: &[(f64, f64)]) -> HostArray {
    arr(&[data.len()], &data.iter().map(|&(re, im)| Complex64::new(re, im)).collect::<Vec<_>>())
}

/// The same complex values in `c64` and `c128`.
fn complexes(data: &[(f64, f64)]) -> [HostArray; 2] {
    let narrow: Vec<(f32, f32)> = data.iter().map(|&(re, im)| (re as f32, im as f32)).collect();
    [c64(&narrow), c128(data)]
}

fn axes(a: &[usize]) -> gradjit_ir::Axes {
    a.iter().copied().collect()
}

/// Relative tolerance for results of `dtype` computed by transcendental functions.
fn tolerance(dtype: DType) -> f64 {
    match dtype {
        DType::F32 | DType::C64 => 3e-7,
        _ => 2e-15,
    }
}

/// `got` equals `want`: same type; floats equal within the dtype's tolerance (NaN matches NaN,
/// and a zero must match exactly, sign included); everything else bit for bit.
fn assert_matches(got: &HostArray, want: &HostArray, what: &str) {
    assert_eq!(got.ty(), want.ty(), "{what}: type");
    let tol = tolerance(want.dtype());
    for (i, (g, w)) in got.scalars().zip(want.scalars()).enumerate() {
        let ok = match (g, w) {
            (Scalar::F32(_) | Scalar::F64(_), _) => {
                let (g, w) = (g.to_f64(), w.to_f64());
                if w.is_nan() {
                    g.is_nan()
                } else if w == 0.0 || w.is_infinite() {
                    g.to_bits() == w.to_bits()
                } else {
                    (g - w).abs() <= tol * w.abs()
                }
            }
            (Scalar::C64(_) | Scalar::C128(_), _) => {
                let (g, w) = (g.to_c128(), w.to_c128());
                (g - w).norm() <= tol * w.norm()
            }
            _ => g == w,
        };
        assert!(ok, "{what}: element {i} is {g}, want {w}\n got: {got:?}\nwant: {want:?}");
    }
}

/// Rows `(op, operand, result)` of a unary table.
type UnaryRows<T> = [(UnaryOp, &'static [T], &'static [T])];
/// Rows `(op, lhs, rhs, result)` of a binary table.
type BinaryRows<T> = [(BinaryOp, &'static [T], &'static [T], &'static [T])];

fn unary_cases(cases: &mut Vec<Case>) {
    use UnaryOp::*;
    #[rustfmt::skip]
    let float_table: &[(UnaryOp, &[f64], &[f64])] = &[
        (Neg, &[1.5, -2.0, 0.0], &[-1.5, 2.0, -0.0]),
        (Abs, &[-1.5, 2.0, -0.0, -INF], &[1.5, 2.0, 0.0, INF]),
        (Sign, &[-3.0, 0.0, -0.0, 2.5, NAN], &[-1.0, 0.0, -0.0, 1.0, NAN]),
        (Exp, &[0.0, 1.0, -1.0, -INF], &[1.0, E, 1.0 / E, 0.0]),
        (Expm1, &[0.0, 1e-10, 1.0], &[0.0, 1.00000000005e-10, E - 1.0]),
        (Log, &[1.0, E, 0.0, -1.0], &[0.0, 1.0, -INF, NAN]),
        (Log1p, &[0.0, 1e-10, E - 1.0, -1.0], &[0.0, 9.9999999995e-11, 1.0, -INF]),
        (Sqrt, &[4.0, 2.0, 0.0, -1.0], &[2.0, std::f64::consts::SQRT_2, 0.0, NAN]),
        (Rsqrt, &[4.0, 0.25, 0.0], &[0.5, 2.0, INF]),
        (Tanh, &[0.0, 1.0, -20.0], &[0.0, 0.7615941559557649, -1.0]),
        (Logistic, &[0.0, 2.0, -800.0, 800.0, NAN], &[0.5, 0.8807970779778823, 0.0, 1.0, NAN]),
        (Sin, &[0.0, FRAC_PI_2, FRAC_PI_6], &[0.0, 1.0, 0.5]),
        (Cos, &[0.0, PI, FRAC_PI_3], &[1.0, -1.0, 0.5]),
        (Tan, &[0.0, FRAC_PI_4], &[0.0, 1.0]),
        (Erf, &[0.0, 0.5, 1.0, -1.5, 3.0, 7.0, -INF],
              &[0.0, 0.5204998778130465, 0.8427007929497149, -0.9661051464753108, 0.9999779095030014, 1.0, -1.0]),
        (Floor, &[1.5, -1.5, -0.0, 2.0], &[1.0, -2.0, -0.0, 2.0]),
        (Ceil, &[1.5, -1.5, 2.0, -0.5], &[2.0, -1.0, 2.0, -0.0]),
        (Round, &[0.5, 1.5, 2.5, -0.5, -2.4], &[1.0, 2.0, 3.0, -1.0, -2.0]),
    ];
    for &(op, x, want) in float_table {
        for dt in FLOATS {
            cases.push(case(Prim::Unary(op), vec![vec_of(dt, x)], vec_of(dt, want)));
        }
    }
    for dt in FLOATS {
        let x = vec_of(dt, &[1.0, INF, -INF, NAN, -0.0]);
        cases.push(case(Prim::Unary(IsFinite), vec![x], bools(&[true, false, false, false, true])));
    }

    // Integers: small values here; overflow corners are in interp_semantics.rs.
    #[rustfmt::skip]
    let int_table: &[(UnaryOp, &[f64], &[f64])] = &[
        (Neg, &[5.0, -3.0, 0.0], &[-5.0, 3.0, 0.0]),
        (Abs, &[-7.0, 7.0, 0.0], &[7.0, 7.0, 0.0]),
        (Sign, &[-9.0, 0.0, 4.0], &[-1.0, 0.0, 1.0]),
        (Not, &[0.0, 5.0, -1.0], &[-1.0, -6.0, 0.0]),
    ];
    for &(op, x, want) in int_table {
        for dt in INTS {
            cases.push(case(Prim::Unary(op), vec![vec_of(dt, x)], vec_of(dt, want)));
        }
    }
    cases.push(case(Prim::Unary(Not), vec![bools(&[true, false])], bools(&[false, true])));

    // Complex.
    let z = [(3.0, 4.0), (-1.0, 0.0), (0.0, -2.0)];
    for (zs, real) in complexes(&z).into_iter().zip([DType::F32, DType::F64]) {
        let cx = zs.dtype();
        cases.push(case(Prim::Unary(Abs), vec![zs.clone()], vec_of(real, &[5.0, 1.0, 2.0])));
        cases.push(case(Prim::Unary(Real), vec![zs.clone()], vec_of(real, &[3.0, -1.0, 0.0])));
        cases.push(case(Prim::Unary(Imag), vec![zs.clone()], vec_of(real, &[4.0, 0.0, -2.0])));
        let conj = complexes(&[(3.0, -4.0), (-1.0, -0.0), (0.0, 2.0)]);
        cases.push(case(Prim::Unary(Conj), vec![zs.clone()], pick(&conj, cx)));
        let neg = complexes(&[(-3.0, -4.0), (1.0, -0.0), (-0.0, 2.0)]);
        cases.push(case(Prim::Unary(Neg), vec![zs.clone()], pick(&neg, cx)));
        let sign = complexes(&[(0.6, 0.8), (-1.0, 0.0), (0.0, -1.0)]);
        cases.push(case(Prim::Unary(Sign), vec![zs.clone()], pick(&sign, cx)));
    }
    #[rustfmt::skip]
    let complex_table: &UnaryRows<(f64, f64)> = &[
        (Exp, &[(0.0, PI), (1.0, 0.0)], &[(-1.0, 0.0), (E, 0.0)]),
        (Expm1, &[(1e-9, 1e-9), (0.0, 0.0)], &[(1e-9, 1.000000001e-9), (0.0, 0.0)]),
        (Log, &[(-1.0, 0.0), (0.0, 1.0)], &[(0.0, PI), (0.0, FRAC_PI_2)]),
        (Log1p, &[(1e-10, 1e-10), (E - 1.0, 0.0)], &[(1e-10, 9.999999999e-11), (1.0, 0.0)]),
        (Sqrt, &[(-4.0, 0.0), (0.0, 2.0)], &[(0.0, 2.0), (1.0, 1.0)]),
        (Rsqrt, &[(-4.0, 0.0), (4.0, 0.0)], &[(0.0, -0.5), (0.5, 0.0)]),
        (Tanh, &[(1.0, 1.0)], &[(1.0839233273386946, 0.2717525853195118)]),
        (Logistic, &[(0.0, 0.0), (2.0, 0.0)], &[(0.5, 0.0), (0.8807970779778823, 0.0)]),
        (Sin, &[(1.0, 1.0)], &[(1.2984575814159773, 0.6349639147847361)]),
        (Cos, &[(0.0, 1.0)], &[(1.5430806348152437, 0.0)]),
        (Tan, &[(FRAC_PI_4, 0.0)], &[(1.0, 0.0)]),
    ];
    for &(op, x, want) in complex_table {
        for (x, want) in complexes(x).into_iter().zip(complexes(want)) {
            cases.push(case(Prim::Unary(op), vec![x], want));
        }
    }
}

/// The array of `options` whose dtype is `dtype`.
fn pick(options: &[HostArray], dtype: DType) -> HostArray {
    options.iter().find(|a| a.dtype() == dtype).expect("an array of that dtype").clone()
}

fn binary_cases(cases: &mut Vec<Case>) {
    use BinaryOp::*;
    #[rustfmt::skip]
    let float_table: &BinaryRows<f64> = &[
        (Add, &[1.5, -2.0, INF], &[2.25, 2.0, 1.0], &[3.75, 0.0, INF]),
        (Sub, &[1.5, 0.0, INF], &[2.25, 0.0, INF], &[-0.75, 0.0, NAN]),
        (Mul, &[1.5, -2.0, 0.0], &[2.0, 3.0, INF], &[3.0, -6.0, NAN]),
        (Div, &[1.0, -3.0, 1.0, 0.0], &[4.0, 2.0, 0.0, 0.0], &[0.25, -1.5, INF, NAN]),
        (Pow, &[2.0, 9.0, 0.0, -8.0, 2.0], &[10.0, 0.5, 0.0, 1.0 / 3.0, -1.0], &[1024.0, 3.0, 1.0, NAN, 0.5]),
        (Max, &[1.0, -0.0, 0.0, NAN, 2.0], &[2.0, 0.0, -0.0, 1.0, -INF], &[2.0, 0.0, 0.0, NAN, 2.0]),
        (Min, &[1.0, -0.0, 0.0, 1.0, 2.0], &[2.0, 0.0, -0.0, NAN, -INF], &[1.0, -0.0, -0.0, NAN, -INF]),
        (Rem, &[7.5, -7.5, 7.5, 1.0], &[2.0, 2.0, -2.0, 0.0], &[1.5, -1.5, 1.5, NAN]),
        (Atan2, &[1.0, 1.0, 0.0, -1.0], &[1.0, -1.0, 1.0, 0.0], &[FRAC_PI_4, 3.0 * FRAC_PI_4, 0.0, -FRAC_PI_2]),
    ];
    for &(op, x, y, want) in float_table {
        for dt in FLOATS {
            cases.push(case(Prim::Binary(op), vec![vec_of(dt, x), vec_of(dt, y)], vec_of(dt, want)));
        }
    }
    for (dt, want) in FLOATS.into_iter().zip(complexes(&[(1.0, 3.0), (2.0, -4.0)])) {
        cases.push(case(Prim::Binary(Complex), vec![vec_of(dt, &[1.0, 2.0]), vec_of(dt, &[3.0, -4.0])], want));
    }

    #[rustfmt::skip]
    let int_table: &BinaryRows<f64> = &[
        (Add, &[1.0, -2.0], &[2.0, 5.0], &[3.0, 3.0]),
        (Sub, &[1.0, -2.0], &[2.0, 5.0], &[-1.0, -7.0]),
        (Mul, &[3.0, -4.0], &[5.0, 6.0], &[15.0, -24.0]),
        (Div, &[7.0, -7.0, 7.0, 5.0, -5.0], &[2.0, 2.0, -2.0, 0.0, 0.0], &[3.0, -3.0, -3.0, -1.0, -1.0]),
        (Rem, &[7.0, -7.0, 7.0, 5.0], &[2.0, 2.0, -2.0, 0.0], &[1.0, -1.0, 1.0, 5.0]),
        (Pow, &[2.0, 3.0, -2.0, 2.0, 1.0, -1.0, -1.0, 0.0, 0.0],
              &[10.0, 0.0, 3.0, -1.0, -5.0, -3.0, -2.0, 0.0, -1.0],
              &[1024.0, 1.0, -8.0, 0.0, 1.0, -1.0, 1.0, 1.0, 0.0]),
        (Max, &[1.0, -5.0], &[2.0, -6.0], &[2.0, -5.0]),
        (Min, &[1.0, -5.0], &[2.0, -6.0], &[1.0, -6.0]),
        (And, &[12.0, -1.0], &[10.0, 7.0], &[8.0, 7.0]),
        (Or, &[12.0, -1.0], &[10.0, 7.0], &[14.0, -1.0]),
        (ShiftRightLogical, &[16.0, 5.0, 5.0], &[2.0, 1.0, 0.0], &[4.0, 2.0, 5.0]),
    ];
    for &(op, x, y, want) in int_table {
        for dt in INTS {
            cases.push(case(Prim::Binary(op), vec![vec_of(dt, x), vec_of(dt, y)], vec_of(dt, want)));
        }
    }
    let (p, q) = (bools(&[true, true, false, false]), bools(&[true, false, true, false]));
    cases.push(case(Prim::Binary(And), vec![p.clone(), q.clone()], bools(&[true, false, false, false])));
    cases.push(case(Prim::Binary(Or), vec![p, q], bools(&[true, true, true, false])));

    #[rustfmt::skip]
    let complex_table: &BinaryRows<(f64, f64)> = &[
        (Add, &[(1.0, 2.0)], &[(3.0, -1.0)], &[(4.0, 1.0)]),
        (Sub, &[(1.0, 2.0)], &[(3.0, -1.0)], &[(-2.0, 3.0)]),
        (Mul, &[(1.0, 2.0)], &[(3.0, -1.0)], &[(5.0, 5.0)]),
        (Div, &[(1.0, 2.0)], &[(3.0, -1.0)], &[(0.1, 0.7)]),
        (Pow, &[(1.0, 1.0), (0.0, 0.0), (0.0, 0.0), (4.0, 0.0)],
              &[(2.0, 0.0), (0.0, 0.0), (2.0, 1.0), (0.5, 0.0)],
              &[(0.0, 2.0), (1.0, 0.0), (0.0, 0.0), (2.0, 0.0)]),
    ];
    for &(op, x, y, want) in complex_table {
        let [x32, x64] = complexes(x);
        let [y32, y64] = complexes(y);
        let [w32, w64] = complexes(want);
        cases.push(case(Prim::Binary(op), vec![x32, y32], w32));
        cases.push(case(Prim::Binary(op), vec![x64, y64], w64));
    }
}

fn compare_cases(cases: &mut Vec<Case>) {
    use CompareOp::*;
    const T: bool = true;
    const F: bool = false;
    // Floats: [1, 2, nan, -0] against [2, 2, nan, 0]; ints: [1, 2, 3] against [2, 2, 2].
    #[rustfmt::skip]
    let table: &[(CompareOp, [bool; 4], [bool; 3])] = &[
        (Eq, [F, T, F, T], [F, T, F]),
        (Ne, [T, F, T, F], [T, F, T]),
        (Lt, [T, F, F, F], [T, F, F]),
        (Le, [T, T, F, T], [T, T, F]),
        (Gt, [F, F, F, F], [F, F, T]),
        (Ge, [F, T, F, T], [F, T, T]),
    ];
    for &(op, float_want, int_want) in table {
        for dt in FLOATS {
            let (x, y) = (vec_of(dt, &[1.0, 2.0, NAN, -0.0]), vec_of(dt, &[2.0, 2.0, NAN, 0.0]));
            cases.push(case(Prim::Compare(op), vec![x, y], bools(&float_want)));
        }
        for dt in INTS {
            let (x, y) = (vec_of(dt, &[1.0, 2.0, 3.0]), vec_of(dt, &[2.0, 2.0, 2.0]));
            cases.push(case(Prim::Compare(op), vec![x, y], bools(&int_want)));
        }
    }
    // false < true.
    let (p, q) = (bools(&[false, true, true]), bools(&[true, true, false]));
    cases.push(case(Prim::Compare(Lt), vec![p.clone(), q.clone()], bools(&[T, F, F])));
    cases.push(case(Prim::Compare(Ge), vec![p, q], bools(&[F, T, T])));
    // Complex numbers have no order, only equality.
    for (x, y) in complexes(&[(1.0, 2.0), (1.0, 2.0)]).into_iter().zip(complexes(&[(1.0, 2.0), (1.0, -2.0)])) {
        cases.push(case(Prim::Compare(Eq), vec![x.clone(), y.clone()], bools(&[T, F])));
        cases.push(case(Prim::Compare(Ne), vec![x, y], bools(&[F, T])));
    }
}

fn other_elementwise_cases(cases: &mut Vec<Case>) {
    for dt in FLOATS {
        let x = vec_of(dt, &[2.0, -1.5, 0.0, NAN]);
        cases.push(case(Prim::IntegerPow { y: 3 }, vec![x.clone()], vec_of(dt, &[8.0, -3.375, 0.0, NAN])));
        cases.push(case(Prim::IntegerPow { y: -2 }, vec![x.clone()], vec_of(dt, &[0.25, 1.0 / 2.25, INF, NAN])));
        cases.push(case(Prim::IntegerPow { y: 0 }, vec![x.clone()], vec_of(dt, &[1.0, 1.0, 1.0, 1.0])));
        cases.push(case(Prim::IntegerPow { y: 1 }, vec![x.clone()], x));
    }
    for dt in INTS {
        let x = vec_of(dt, &[2.0, -3.0, 0.0]);
        cases.push(case(Prim::IntegerPow { y: 3 }, vec![x.clone()], vec_of(dt, &[8.0, -27.0, 0.0])));
        cases.push(case(Prim::IntegerPow { y: 0 }, vec![x], vec_of(dt, &[1.0, 1.0, 1.0])));
    }
    for (x, want) in complexes(&[(1.0, 1.0)]).into_iter().zip(complexes(&[(0.0, 2.0)])) {
        cases.push(case(Prim::IntegerPow { y: 2 }, vec![x], want));
    }

    let pred = bools(&[true, false, true]);
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64, DType::C64, DType::C128] {
        let (t, f) = (vec_of(dt, &[1.0, 2.0, 3.0]), vec_of(dt, &[4.0, 5.0, 6.0]));
        cases.push(case(Prim::Select, vec![pred.clone(), t, f], vec_of(dt, &[1.0, 5.0, 3.0])));
    }
    let (t, f) = (bools(&[true, true, true]), bools(&[false, false, false]));
    cases.push(case(Prim::Select, vec![pred.clone(), t, f], pred.clone()));

    let convert = |dtype| Prim::ConvertElementType { dtype };
    for dt in FLOATS {
        let x = vec_of(dt, &[1.9, -1.9, NAN, 34359738368.0, -34359738368.0, -0.0]);
        let want = arr(&[6], &[1i32, -1, 0, i32::MAX, i32::MIN, 0]);
        cases.push(case(convert(DType::I32), vec![x.clone()], want));
        let want = arr(&[6], &[1i64, -1, 0, 1 << 35, -(1 << 35), 0]);
        cases.push(case(convert(DType::I64), vec![x], want));
        let x = vec_of(dt, &[0.0, -0.0, 0.5, NAN, -2.0]);
        cases.push(case(convert(DType::Bool), vec![x], bools(&[false, false, true, true, true])));
        cases.push(case(convert(dt), vec![bools(&[true, false])], vec_of(dt, &[1.0, 0.0])));
    }
    cases.push(case(convert(DType::F32), vec![vec_of(DType::F64, &[0.1, 1e300])], vec_of(DType::F32, &[0.1, INF])));
    cases.push(case(
        convert(DType::F64),
        vec![vec_of(DType::I32, &[-7.0, 16777217.0])],
        vec_of(DType::F64, &[-7.0, 16777217.0]),
    ));
    cases.push(case(convert(DType::F32), vec![vec_of(DType::I32, &[16777217.0])], vec_of(DType::F32, &[16777216.0])));
    cases.push(case(convert(DType::I32), vec![arr(&[2], &[4_294_967_298i64, -1])], arr(&[2], &[2i32, -1])));
    cases.push(case(convert(DType::I64), vec![arr(&[2], &[i32::MIN, 7])], arr(&[2], &[i32::MIN as i64, 7])));
    cases.push(case(convert(DType::Bool), vec![vec_of(DType::I32, &[0.0, -3.0])], bools(&[false, true])));
    let [z32, z64] = complexes(&[(1.5, -2.0), (0.0, 1.0)]);
    cases.push(case(convert(DType::F32), vec![z32.clone()], vec_of(DType::F32, &[1.5, 0.0])));
    cases.push(case(convert(DType::Bool), vec![z64.clone()], bools(&[true, true])));
    cases.push(case(convert(DType::C64), vec![z64], z32));
    cases.push(case(convert(DType::C128), vec![vec_of(DType::F64, &[2.5])], c128(&[(2.5, 0.0)])));
    // Same dtype: unchanged, bit for bit.
    cases.push(case(convert(DType::I64), vec![arr(&[1], &[i64::MAX])], arr(&[1], &[i64::MAX])));
}

fn shape_cases(cases: &mut Vec<Case>) {
    for dt in FLOATS {
        // Size-1 dimensions broadcast: x[j, 0] lands at every out[i, j, k].
        let x = of(dt, &[3, 1], &[1.0, 2.0, 3.0]);
        let want: Vec<f64> = (0..2).flat_map(|_| (1..=3).flat_map(|j| [j as f64; 4])).collect();
        let prim = Prim::BroadcastInDim { shape: [2, 3, 4].into(), dims: axes(&[1, 2]) };
        cases.push(case(prim, vec![x], of(dt, &[2, 3, 4], &want)));
        // A scalar to a matrix; a vector along the columns.
        let prim = Prim::BroadcastInDim { shape: [2, 2].into(), dims: axes(&[]) };
        cases.push(case(prim, vec![of(dt, &[], &[7.0])], of(dt, &[2, 2], &[7.0; 4])));
        let prim = Prim::BroadcastInDim { shape: [2, 3].into(), dims: axes(&[1]) };
        let want = of(dt, &[2, 3], &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        cases.push(case(prim, vec![vec_of(dt, &[1.0, 2.0, 3.0])], want));

        let m = of(dt, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let prim = Prim::Reshape { shape: [3, 2].into() };
        cases.push(case(prim, vec![m.clone()], of(dt, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])));
        let prim = Prim::Transpose { perm: axes(&[1, 0]) };
        cases.push(case(prim, vec![m.clone()], of(dt, &[3, 2], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0])));
        let prim = Prim::Rev { axes: axes(&[1]) };
        cases.push(case(prim, vec![m.clone()], of(dt, &[2, 3], &[3.0, 2.0, 1.0, 6.0, 5.0, 4.0])));
        let prim = Prim::Rev { axes: axes(&[0, 1]) };
        cases.push(case(prim, vec![m.clone()], of(dt, &[2, 3], &[6.0, 5.0, 4.0, 3.0, 2.0, 1.0])));
        let prim = Prim::Slice { start: axes(&[0, 1]), limit: axes(&[2, 3]), stride: axes(&[1, 1]) };
        cases.push(case(prim, vec![m.clone()], of(dt, &[2, 2], &[2.0, 3.0, 5.0, 6.0])));
        let prim = Prim::Concatenate { axis: 1 };
        let want = of(dt, &[2, 4], &[1.0, 2.0, 3.0, 9.0, 4.0, 5.0, 6.0, 8.0]);
        cases.push(case(prim, vec![m.clone(), of(dt, &[2, 1], &[9.0, 8.0])], want));
    }
    // A 3-d transpose: out[i, j, k] = x[j, k, i].
    let x: Vec<i32> = (0..24).collect();
    let want: Vec<i32> =
        (0..4).flat_map(|i| (0..2).flat_map(move |j| (0..3).map(move |k| j * 12 + k * 4 + i))).collect();
    cases.push(case(Prim::Transpose { perm: axes(&[2, 0, 1]) }, vec![arr(&[2, 3, 4], &x)], arr(&[4, 2, 3], &want)));
    // Strided slice.
    let x: Vec<i64> = (0..10).collect();
    let prim = Prim::Slice { start: axes(&[1]), limit: axes(&[8]), stride: axes(&[3]) };
    cases.push(case(prim, vec![arr(&[10], &x)], arr(&[3], &[1i64, 4, 7])));
    // Pad: low, high and interior padding, with the padding value.
    let prim = Prim::Pad { low: axes(&[1]), high: axes(&[2]), interior: axes(&[1]), value: Scalar::F32(-1.0) };
    let want = vec_of(DType::F32, &[-1.0, 1.0, -1.0, 2.0, -1.0, 3.0, -1.0, -1.0]);
    cases.push(case(prim, vec![vec_of(DType::F32, &[1.0, 2.0, 3.0])], want));
    let prim = Prim::Pad { low: axes(&[0, 1]), high: axes(&[1, 0]), interior: axes(&[0, 0]), value: Scalar::F64(0.0) };
    let want = of(DType::F64, &[3, 3], &[0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0]);
    cases.push(case(prim, vec![of(DType::F64, &[2, 2], &[1.0, 2.0, 3.0, 4.0])], want));
    let big = (1i64 << 62) + 3;
    let prim = Prim::Pad { low: axes(&[1]), high: axes(&[0]), interior: axes(&[0]), value: Scalar::I64(big) };
    cases.push(case(prim, vec![arr(&[1], &[5i64])], arr(&[2], &[big, 5])));
    // Concatenate several operands along axis 0, including an empty one.
    let prim = Prim::Concatenate { axis: 0 };
    let parts = vec![arr(&[2], &[1i32, 2]), arr::<i32>(&[0], &[]), arr(&[3], &[3i32, 4, 5])];
    cases.push(case(prim, parts, arr(&[5], &[1i32, 2, 3, 4, 5])));
    // Bool and complex data move the same way.
    let prim = Prim::Rev { axes: axes(&[0]) };
    cases.push(case(prim, vec![bools(&[true, false, false])], bools(&[false, false, true])));
    let [z, _] = complexes(&[(1.0, 2.0), (3.0, 4.0)]);
    let prim = Prim::BroadcastInDim { shape: [2, 2].into(), dims: axes(&[1]) };
    let want = c64(&[(1.0, 2.0), (3.0, 4.0), (1.0, 2.0), (3.0, 4.0)]).reshaped([2, 2]).expect("4 elements");
    cases.push(case(prim, vec![z], want));
}

fn indexing_cases(cases: &mut Vec<Case>) {
    for dt in FLOATS {
        // Out-of-range indices clamp: 7 -> 3, -2 -> 0.
        let x = vec_of(dt, &[10.0, 20.0, 30.0, 40.0]);
        let idx = arr(&[4], &[3i32, 0, 7, -2]);
        cases.push(case(Prim::Gather { axis: 0 }, vec![x, idx], vec_of(dt, &[40.0, 10.0, 40.0, 10.0])));
        // A rank-2 index array into axis 0 of a matrix: out[i, j, :] = x[idx[i, j], :].
        let x = of(dt, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let idx = arr(&[2, 2], &[2i64, 0, 1, 1]);
        let want = of(dt, &[2, 2, 2], &[5.0, 6.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0]);
        cases.push(case(Prim::Gather { axis: 0 }, vec![x.clone(), idx], want));
        // Along axis 1 with a scalar index: the column.
        cases.push(case(Prim::Gather { axis: 1 }, vec![x, arr(&[], &[1i32])], of(dt, &[3], &[2.0, 4.0, 6.0])));

        // Repeated indices accumulate; 9 clamps to 3.
        let x = vec_of(dt, &[0.5, 0.0, 0.0, 0.0]);
        let idx = arr(&[4], &[1i32, 1, 3, 9]);
        let upd = vec_of(dt, &[1.0, 2.0, 3.0, 4.0]);
        cases.push(case(Prim::ScatterAdd { axis: 0 }, vec![x, idx, upd], vec_of(dt, &[0.5, 3.0, 0.0, 7.0])));
        let x = of(dt, &[2, 3], &[0.0; 6]);
        let idx = arr(&[2], &[2i64, 0]);
        let upd = of(dt, &[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let want = of(dt, &[2, 3], &[2.0, 0.0, 1.0, 4.0, 0.0, 3.0]);
        cases.push(case(Prim::ScatterAdd { axis: 1 }, vec![x, idx, upd], want));

        // Start indices clamp so the block fits: 4 -> 3 for a block of 2 in 5; -3 -> 0.
        let x = vec_of(dt, &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let ds = Prim::DynamicSlice { sizes: axes(&[2]) };
        cases.push(case(ds.clone(), vec![x.clone(), arr(&[], &[4i32])], vec_of(dt, &[3.0, 4.0])));
        cases.push(case(ds.clone(), vec![x.clone(), arr(&[], &[-3i64])], vec_of(dt, &[0.0, 1.0])));
        cases.push(case(ds, vec![x.clone(), arr(&[], &[1i32])], vec_of(dt, &[1.0, 2.0])));
        let upd = vec_of(dt, &[8.0, 9.0]);
        let want = vec_of(dt, &[0.0, 1.0, 2.0, 8.0, 9.0]);
        cases.push(case(Prim::DynamicUpdateSlice, vec![x.clone(), upd.clone(), arr(&[], &[10i32])], want));
        let want = vec_of(dt, &[0.0, 8.0, 9.0, 3.0, 4.0]);
        cases.push(case(Prim::DynamicUpdateSlice, vec![x, upd, arr(&[], &[1i64])], want));
    }
    // Two dimensions, mixed index dtypes.
    let x: Vec<i32> = (0..12).collect();
    let x = arr(&[3, 4], &x);
    let ds = Prim::DynamicSlice { sizes: axes(&[2, 2]) };
    let starts = [arr(&[], &[1i32]), arr(&[], &[3i64])];
    let want = arr(&[2, 2], &[6i32, 7, 10, 11]);
    cases.push(case(ds, vec![x.clone(), starts[0].clone(), starts[1].clone()], want));
    let upd = arr(&[1, 2], &[-1i32, -2]);
    let want = arr(&[3, 4], &[0i32, 1, 2, 3, 4, 5, -1, -2, 8, 9, 10, 11]);
    let starts = [arr(&[], &[1i32]), arr(&[], &[2i32])];
    cases.push(case(Prim::DynamicUpdateSlice, vec![x, upd, starts[0].clone(), starts[1].clone()], want));
    // Integer, bool and complex scatter_add.
    let case_i = case(
        Prim::ScatterAdd { axis: 0 },
        vec![arr(&[3], &[1i64, 1, 1]), arr(&[2], &[2i32, 2]), arr(&[2], &[5i64, 6])],
        arr(&[3], &[1i64, 1, 12]),
    );
    cases.push(case_i);
    let case_b = case(
        Prim::ScatterAdd { axis: 0 },
        vec![bools(&[false, false]), arr(&[2], &[1i32, 1]), bools(&[true, false])],
        bools(&[false, true]),
    );
    cases.push(case_b);
    let [x, _] = complexes(&[(1.0, 1.0), (0.0, 0.0)]);
    let case_c = case(
        Prim::ScatterAdd { axis: 0 },
        vec![x, arr(&[1], &[0i32]), c64(&[(2.0, -3.0)])],
        c64(&[(3.0, -2.0), (0.0, 0.0)]),
    );
    cases.push(case_c);
}

fn reduce_cases(cases: &mut Vec<Case>) {
    use ReduceOp::*;
    let m = [1.0, -2.0, 3.0, 4.0, 5.0, -6.0];
    #[rustfmt::skip]
    let table: &[(ReduceOp, &[usize], &[f64])] = &[
        (Sum, &[0], &[5.0, 3.0, -3.0]), (Sum, &[1], &[2.0, 3.0]), (Sum, &[0, 1], &[5.0]),
        (Prod, &[0], &[4.0, -10.0, -18.0]), (Prod, &[1], &[-6.0, -120.0]), (Prod, &[0, 1], &[720.0]),
        (Max, &[0], &[4.0, 5.0, 3.0]), (Max, &[1], &[3.0, 5.0]), (Max, &[0, 1], &[5.0]),
        (Min, &[0], &[1.0, -2.0, -6.0]), (Min, &[1], &[-2.0, -6.0]), (Min, &[0, 1], &[-6.0]),
        (Sum, &[], &[1.0, -2.0, 3.0, 4.0, 5.0, -6.0]),
    ];
    for &(op, ax, want) in table {
        let out_dims: &[usize] = match ax {
            [0] => &[3],
            [1] => &[2],
            [] => &[2, 3],
            _ => &[],
        };
        for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
            let prim = Prim::Reduce { op, axes: axes(ax) };
            cases.push(case(prim, vec![of(dt, &[2, 3], &m)], of(dt, out_dims, want)));
        }
    }
    // NaN propagates through max and min.
    for dt in FLOATS {
        for op in [Max, Min, Sum] {
            let prim = Prim::Reduce { op, axes: axes(&[0]) };
            cases.push(case(prim, vec![vec_of(dt, &[1.0, NAN, 2.0])], of(dt, &[], &[NAN])));
        }
    }
    // Bool max/min are any/all.
    let prim = |op| Prim::Reduce { op, axes: axes(&[1]) };
    let x = arr(&[2, 2], &[true, false, false, false]);
    cases.push(case(prim(Max), vec![x.clone()], bools(&[true, false])));
    cases.push(case(prim(Min), vec![x], bools(&[false, false])));
    // Complex sum and product.
    for (x, (sum, prod)) in complexes(&[(1.0, 1.0), (2.0, -1.0)])
        .into_iter()
        .zip(complexes(&[(3.0, 0.0)]).into_iter().zip(complexes(&[(3.0, 1.0)])))
    {
        let reshape = |a: HostArray| a.reshaped(Shape::scalar()).expect("one element");
        cases.push(case(Prim::Reduce { op: Sum, axes: axes(&[0]) }, vec![x.clone()], reshape(sum)));
        cases.push(case(Prim::Reduce { op: Prod, axes: axes(&[0]) }, vec![x], reshape(prod)));
    }

    // argmax/argmin: the first extreme; the first NaN counts as the extreme.
    let x = [1.0, 3.0, 3.0, NAN, 2.0, NAN, -1.0, -1.0, -5.0];
    for dt in FLOATS {
        for index_dtype in INTS {
            let arg = |op, axis| Prim::Arg { op, axis, index_dtype };
            let xs = of(dt, &[3, 3], &x);
            cases.push(case(arg(ArgOp::ArgMax, 1), vec![xs.clone()], vec_of(index_dtype, &[1.0, 0.0, 0.0])));
            cases.push(case(arg(ArgOp::ArgMin, 1), vec![xs.clone()], vec_of(index_dtype, &[0.0, 0.0, 2.0])));
            cases.push(case(arg(ArgOp::ArgMax, 0), vec![xs.clone()], vec_of(index_dtype, &[1.0, 0.0, 1.0])));
            cases.push(case(arg(ArgOp::ArgMin, 0), vec![xs], vec_of(index_dtype, &[1.0, 2.0, 1.0])));
        }
    }
    for dt in INTS {
        let xs = vec_of(dt, &[4.0, -2.0, 9.0, 9.0, -2.0]);
        let arg = |op| Prim::Arg { op, axis: 0, index_dtype: DType::I32 };
        cases.push(case(arg(ArgOp::ArgMax), vec![xs.clone()], of(DType::I32, &[], &[2.0])));
        cases.push(case(arg(ArgOp::ArgMin), vec![xs], of(DType::I32, &[], &[1.0])));
    }
}

fn dot(lc: &[usize], rc: &[usize], lb: &[usize], rb: &[usize]) -> Prim {
    Prim::DotGeneral(DotDims {
        lhs_contract: axes(lc),
        rhs_contract: axes(rc),
        lhs_batch: axes(lb),
        rhs_batch: axes(rb),
    })
}

fn dot_cases(cases: &mut Vec<Case>) {
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64, DType::C64, DType::C128] {
        let a = of(dt, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = of(dt, &[3, 2], &[7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        // Matrix product.
        cases.push(case(
            dot(&[1], &[0], &[], &[]),
            vec![a.clone(), b.clone()],
            of(dt, &[2, 2], &[58.0, 64.0, 139.0, 154.0]),
        ));
        // Contracting lhs dim 0 with rhs dim 1: aᵀ·bᵀ = (b·a)ᵀ.
        let want = of(dt, &[3, 3], &[39.0, 49.0, 59.0, 54.0, 68.0, 82.0, 69.0, 87.0, 105.0]);
        cases.push(case(dot(&[0], &[1], &[], &[]), vec![a.clone(), b.clone()], want));
        // Outer product: nothing contracted.
        let (u, v) = (vec_of(dt, &[1.0, 2.0]), vec_of(dt, &[3.0, 4.0, 5.0]));
        cases.push(case(dot(&[], &[], &[], &[]), vec![u, v], of(dt, &[2, 3], &[3.0, 4.0, 5.0, 6.0, 8.0, 10.0])));
        // Inner product of vectors, to a scalar.
        let u = vec_of(dt, &[1.0, 2.0, 3.0]);
        cases.push(case(dot(&[0], &[0], &[], &[]), vec![u.clone(), u], of(dt, &[], &[14.0])));
    }
    // Batched, with two contracting dims: out[b, i, j] = Σ_{p,q} l[b, p, i, q] r[p, b, j, q].
    let (bn, pn, i_n, qn, jn) = (2, 3, 2, 2, 2);
    let l: Vec<f64> = (0..bn * pn * i_n * qn).map(|v| (v as f64) * 0.5 - 3.0).collect();
    let r: Vec<f64> = (0..pn * bn * jn * qn).map(|v| ((v * 7) % 5) as f64 - 1.0).collect();
    let mut want = vec![0.0; bn * i_n * jn];
    for b in 0..bn {
        for i in 0..i_n {
            for j in 0..jn {
                for p in 0..pn {
                    for q in 0..qn {
                        let lv = l[((b * pn + p) * i_n + i) * qn + q];
                        let rv = r[((p * bn + b) * jn + j) * qn + q];
                        want[(b * i_n + i) * jn + j] += lv * rv;
                    }
                }
            }
        }
    }
    for dt in FLOATS {
        let prim = dot(&[1, 3], &[0, 3], &[0], &[1]);
        let ins = vec![of(dt, &[bn, pn, i_n, qn], &l), of(dt, &[pn, bn, jn, qn], &r)];
        cases.push(case(prim, ins, of(dt, &[bn, i_n, jn], &want)));
    }
    // Integer accumulation wraps.
    let prim = dot(&[0], &[0], &[], &[]);
    let big = arr(&[2], &[i32::MAX, 1]);
    cases.push(case(prim, vec![big.clone(), arr(&[2], &[1i32, 1])], arr(&[], &[i32::MIN])));
}

fn creation_cases(cases: &mut Vec<Case>) {
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64, DType::C128] {
        let prim = Prim::Iota { dtype: dt, shape: [2, 3].into(), axis: 1 };
        cases.push(case(prim, vec![], of(dt, &[2, 3], &[0.0, 1.0, 2.0, 0.0, 1.0, 2.0])));
        let prim = Prim::Iota { dtype: dt, shape: [2, 3].into(), axis: 0 };
        cases.push(case(prim, vec![], of(dt, &[2, 3], &[0.0, 0.0, 0.0, 1.0, 1.0, 1.0])));
    }
    let splat = Prim::Constant(Literal::Splat(Scalar::F32(2.5), [2].into()));
    cases.push(case(splat, vec![], vec_of(DType::F32, &[2.5, 2.5])));
    let data = arr(&[2, 2], &[1i64, -2, 3, -4]);
    cases.push(case(Prim::Constant(Literal::Dense(Arc::new(data.clone()))), vec![], data));
    // Integers beyond 2^53 stay exact.
    let big = (1i64 << 60) + 1;
    cases.push(case(Prim::Constant(Literal::Splat(Scalar::I64(big), [2].into())), vec![], arr(&[2], &[big, big])));
    let scalar = Prim::Constant(Literal::Splat(Scalar::Bool(true), Shape::scalar()));
    cases.push(case(scalar, vec![], arr(&[], &[true])));

    for x in [vec_of(DType::F64, &[1.0, NAN]), bools(&[true]), c64(&[(1.0, -1.0)])] {
        cases.push(case(Prim::StopGradient, vec![x.clone()], x));
    }

    // Element 0 encrypts counter (0, 0): under key 0 that is Random123's first known answer.
    let key = arr(&[], &[0i64]);
    let prim = Prim::RandomBits { shape: Shape::scalar(), dtype: DType::I32 };
    cases.push(case(prim, vec![key.clone()], arr(&[], &[0x6b20_0159_u32 as i32])));
    let prim = Prim::RandomBits { shape: [1].into(), dtype: DType::I64 };
    cases.push(case(prim, vec![key], arr(&[1], &[0x6b20_0159_99ba_4efe_u64 as i64])));

    // A call runs its body: 2·sin(x) + y.
    for dt in FLOATS {
        let ty = TensorType::new(dt, [2]);
        let mut body = Function::new();
        let x = body.add_param(ty.clone());
        let y = body.add_param(ty.clone());
        let s = body.push1(Prim::Unary(UnaryOp::Sin), &[x], None).unwrap();
        let two = body.push1(Prim::splat(2.0, &ty), &[], None).unwrap();
        let t = body.push1(Prim::Binary(BinaryOp::Mul), &[two, s], None).unwrap();
        let u = body.push1(Prim::Binary(BinaryOp::Add), &[t, y], None).unwrap();
        body.outputs.extend([u, x]);
        let xs = vec_of(dt, &[FRAC_PI_6, 0.0]);
        let ins = vec![xs.clone(), vec_of(dt, &[1.0, -1.0])];
        let prim = Prim::Call { body: Arc::new(body) };
        // Two outputs: checked one by one in `outputs_of_call_are_all_returned`; the case holds the first.
        cases.push(case(prim, ins, vec_of(dt, &[2.0, -1.0])));
    }
}

/// A sub-function of parameters `params`, returning what `build` gives.
fn sub(
    params: &[TensorType],
    build: impl FnOnce(&mut Function, &[gradjit_ir::Value]) -> Vec<gradjit_ir::Value>,
) -> Arc<Function> {
    let mut g = Function::new();
    let ps: Vec<_> = params.iter().map(|t| g.add_param(t.clone())).collect();
    g.outputs = build(&mut g, &ps);
    Arc::new(g)
}

fn push(g: &mut Function, prim: Prim, ins: &[gradjit_ir::Value]) -> gradjit_ir::Value {
    g.push1(prim, ins, None).unwrap()
}

/// The scan `h' = w·h + x` (the carry) with `ys = h'`, over three steps.
fn linear_recurrence(dt: DType, reverse: bool) -> Prim {
    let t = TensorType::new(dt, [2]);
    let body = sub(&[t.clone(), t.clone(), t], |g, p| {
        let wh = push(g, Prim::Binary(BinaryOp::Mul), &[p[0], p[1]]);
        let h = push(g, Prim::Binary(BinaryOp::Add), &[wh, p[2]]);
        vec![h, h]
    });
    Prim::Scan { length: 3, reverse, num_consts: 1, num_carry: 1, body }
}

/// `while i < 3: (i, x) = (i + 1, 2x)`.
fn doubling_loop(dt: DType) -> Prim {
    let (i32s, t) = (TensorType::scalar(DType::I32), TensorType::new(dt, [2]));
    let cond = sub(&[i32s.clone(), t.clone()], |g, p| {
        let three = push(g, Prim::splat(3.0, &TensorType::scalar(DType::I32)), &[]);
        vec![push(g, Prim::Compare(CompareOp::Lt), &[p[0], three])]
    });
    let body = sub(&[i32s, t], |g, p| {
        let one = push(g, Prim::splat(1.0, &TensorType::scalar(DType::I32)), &[]);
        vec![push(g, Prim::Binary(BinaryOp::Add), &[p[0], one]), push(g, Prim::Binary(BinaryOp::Add), &[p[1], p[1]])]
    });
    Prim::While { cond_consts: 0, body_consts: 0, cond, body }
}

/// Branches `x + y`, `x · y`, `x - y`.
fn arithmetic_switch(dt: DType) -> Prim {
    let t = TensorType::new(dt, [2]);
    let branch = |op| sub(&[t.clone(), t.clone()], |g, p| vec![push(g, Prim::Binary(op), &[p[0], p[1]])]);
    Prim::Cond { branches: vec![branch(BinaryOp::Add), branch(BinaryOp::Mul), branch(BinaryOp::Sub)] }
}

/// `sin` with its derivative rules (never used by the interpreter).
fn custom_sin(dt: DType) -> (Arc<Function>, Arc<Function>, Arc<Function>, Arc<Function>) {
    let t = TensorType::new(dt, [2]);
    let body = sub(std::slice::from_ref(&t), |g, p| vec![push(g, Prim::Unary(UnaryOp::Sin), &[p[0]])]);
    let jvp = sub(&[t.clone(), t.clone()], |g, p| {
        let c = push(g, Prim::Unary(UnaryOp::Cos), &[p[0]]);
        vec![push(g, Prim::Unary(UnaryOp::Sin), &[p[0]]), push(g, Prim::Binary(BinaryOp::Mul), &[p[1], c])]
    });
    let fwd = sub(std::slice::from_ref(&t), |g, p| {
        vec![push(g, Prim::Unary(UnaryOp::Sin), &[p[0]]), push(g, Prim::Unary(UnaryOp::Cos), &[p[0]])]
    });
    let bwd = sub(&[t.clone(), t], |g, p| vec![push(g, Prim::Binary(BinaryOp::Mul), &[p[1], p[0]])]);
    (body, jvp, fwd, bwd)
}

fn control_cases(cases: &mut Vec<Case>) {
    for dt in FLOATS {
        let (w, h0) = (vec_of(dt, &[1.0, 0.5]), vec_of(dt, &[0.0, 1.0]));
        let xs = of(dt, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        // h = (0, 1) → (1, 2.5) → (4, 5.25) → (9, 8.625); reversed: → (5, 6.5) → (8, 7.25) → (9, 5.625).
        let ins = vec![w.clone(), h0.clone(), xs.clone()];
        cases.push(case(linear_recurrence(dt, false), ins.clone(), vec_of(dt, &[9.0, 8.625])));
        cases.push(case(linear_recurrence(dt, true), ins, vec_of(dt, &[9.0, 5.625])));
        cases.push(case(doubling_loop(dt), vec![arr(&[], &[0i32]), vec_of(dt, &[1.0, -1.5])], arr(&[], &[3i32])));
        let (x, y) = (vec_of(dt, &[3.0, 4.0]), vec_of(dt, &[0.5, -1.0]));
        for (i, want) in [(-7, [3.5, 3.0]), (1, [1.5, -4.0]), (2, [2.5, 5.0]), (9, [2.5, 5.0])] {
            let ins = vec![arr(&[], &[i]), x.clone(), y.clone()];
            cases.push(case(arithmetic_switch(dt), ins, vec_of(dt, &want)));
        }
        let ins = vec![arr(&[], &[true]), x.clone(), y.clone()];
        cases.push(case(arithmetic_switch(dt), ins, vec_of(dt, &[1.5, -4.0])));
        let (body, jvp, fwd, bwd) = custom_sin(dt);
        let want = vec_of(dt, &[FRAC_PI_6.sin(), 0.0]);
        let ins = vec![vec_of(dt, &[FRAC_PI_6, 0.0])];
        cases.push(case(Prim::CustomJvp { body: body.clone(), jvp }, ins.clone(), want.clone()));
        cases.push(case(Prim::CustomVjp { body, fwd, bwd }, ins, want));
    }
}

/// Primitives the interpreter cannot evaluate, by design.
const NOT_EVALUABLE: &[PrimKind] = &[
    PrimKind::CustomLin,
    PrimKind::Collective(gradjit_ir::CollectiveOp::Psum),
    PrimKind::Collective(gradjit_ir::CollectiveOp::Pmean),
    PrimKind::Collective(gradjit_ir::CollectiveOp::Pmax),
    PrimKind::Collective(gradjit_ir::CollectiveOp::Pmin),
];

fn all_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    unary_cases(&mut cases);
    binary_cases(&mut cases);
    compare_cases(&mut cases);
    other_elementwise_cases(&mut cases);
    shape_cases(&mut cases);
    indexing_cases(&mut cases);
    reduce_cases(&mut cases);
    dot_cases(&mut cases);
    creation_cases(&mut cases);
    control_cases(&mut cases);
    cases
}

fn describe(c: &Case) -> String {
    let tys: Vec<String> = c.inputs.iter().map(|a| a.ty().to_string()).collect();
    format!("{:?} on ({})", c.prim, tys.join(", "))
}

#[test]
fn every_primitive_kind_has_a_case() {
    let covered: BTreeSet<PrimKind> = all_cases().iter().map(|c| c.prim.kind()).collect();
    let missing: Vec<&str> = PrimKind::all()
        .into_iter()
        .filter(|k| !covered.contains(k) && !NOT_EVALUABLE.contains(k))
        .map(|k| k.name())
        .collect();
    assert!(missing.is_empty(), "primitives without an interpreter case: {missing:?}");
}

#[test]
fn apply_gives_the_hand_computed_results() {
    for c in all_cases() {
        let inputs: Vec<&HostArray> = c.inputs.iter().collect();
        let outs = apply(&c.prim, &inputs).unwrap_or_else(|e| panic!("{}: {e}", describe(&c)));
        assert_matches(&outs[0], &c.want, &describe(&c));
    }
}

/// Every case again, as a one-equation function through `run`.
#[test]
fn run_agrees_with_apply() {
    for c in all_cases() {
        let mut f = Function::new();
        let params: Vec<_> = c.inputs.iter().map(|a| f.add_param(a.ty().clone())).collect();
        let outs = f.push(c.prim.clone(), &params, None).unwrap_or_else(|e| panic!("{}: {e}", describe(&c)));
        f.outputs.extend(outs);
        let results = run(&f, &c.inputs).unwrap_or_else(|e| panic!("{}: {e}", describe(&c)));
        assert_matches(&results[0], &c.want, &describe(&c));
    }
}

#[test]
fn outputs_of_call_are_all_returned() {
    let c = all_cases().into_iter().find(|c| c.prim.kind() == PrimKind::Call).expect("a call case");
    let inputs: Vec<&HostArray> = c.inputs.iter().collect();
    let outs = apply(&c.prim, &inputs).unwrap();
    assert_eq!(outs.len(), 2);
    assert_matches(&outs[1], &c.inputs[0], "second output of the call");
}

#[test]
fn scan_stacks_every_step_and_runs_zero_steps() {
    for dt in FLOATS {
        let ins = [vec_of(dt, &[1.0, 0.5]), vec_of(dt, &[0.0, 1.0]), of(dt, &[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])];
        let refs: Vec<&HostArray> = ins.iter().collect();
        let outs = apply(&linear_recurrence(dt, false), &refs).unwrap();
        assert_matches(&outs[1], &of(dt, &[3, 2], &[1.0, 2.5, 4.0, 5.25, 9.0, 8.625]), "forward ys");
        // Reversed, step 2 runs first and slice i is still written by the step that reads x[i].
        let outs = apply(&linear_recurrence(dt, true), &refs).unwrap();
        assert_matches(&outs[1], &of(dt, &[3, 2], &[9.0, 5.625, 8.0, 7.25, 5.0, 6.5]), "reversed ys");
        // Zero steps: the initial carry and empty ys.
        let Prim::Scan { body, .. } = linear_recurrence(dt, false) else { unreachable!() };
        let empty = Prim::Scan { length: 0, reverse: false, num_consts: 1, num_carry: 1, body };
        let xs = of(dt, &[0, 2], &[]);
        let outs = apply(&empty, &[&ins[0], &ins[1], &xs]).unwrap();
        assert_matches(&outs[0], &ins[1], "carry after zero steps");
        assert_eq!(outs[1].ty(), &TensorType::new(dt, [0, 2]));
    }
    // A loop that never runs its body returns its initial carry.
    let outs = apply(&doubling_loop(DType::F64), &[&arr(&[], &[5i32]), &vec_of(DType::F64, &[1.0, 2.0])]).unwrap();
    assert_matches(&outs[1], &vec_of(DType::F64, &[1.0, 2.0]), "while with no iteration");
}

#[test]
fn custom_lin_is_an_error_not_a_value() {
    let (_, _, _, bwd) = custom_sin(DType::F64);
    let x = vec_of(DType::F64, &[1.0, 2.0]);
    let err = apply(&Prim::CustomLin { num_res: 1, bwd }, &[&x, &x]).unwrap_err();
    assert!(err.to_string().contains("linearization of a custom_vjp function"), "{err}");
}

#[test]
fn a_collective_outside_vmap_names_its_unbound_axis() {
    let x = vec_of(DType::F64, &[1.0, 2.0]);
    for op in gradjit_ir::CollectiveOp::ALL {
        let prim = Prim::Collective { op: *op, axis_name: "batch".into() };
        let err = apply(&prim, &[&x]).unwrap_err().to_string();
        assert!(err.contains(&format!("{} over unbound axis name 'batch'", op.name())), "{err}");
    }
}

/// Wrong operand counts and types are errors, never panics.
#[test]
fn every_case_with_wrong_operands_is_an_error() {
    let wrong = [HostArray::zeros(DType::Float0, [3]), bools(&[true])];
    for c in all_cases() {
        let mut inputs: Vec<&HostArray> = c.inputs.iter().collect();
        inputs.push(&wrong[0]);
        assert!(apply(&c.prim, &inputs).is_err(), "{} with an extra operand", describe(&c));
        if let Some((_, rest)) = c.inputs.split_first() {
            let shifted: Vec<&HostArray> = rest.iter().chain(&wrong[1..]).collect();
            // Some prims accept the shifted operands (concatenate of bools); none may panic.
            let _ = apply(&c.prim, &shifted);
            let fewer: Vec<&HostArray> = rest.iter().collect();
            let _ = apply(&c.prim, &fewer);
        }
    }
}

/// Any operand replaced by an array of another shape or dtype: an error or a result, never a panic.
#[test]
fn substituted_operands_never_panic() {
    let pool = [
        of(DType::F32, &[], &[1.0]),
        vec_of(DType::F32, &[1.0, 2.0, 3.0]),
        of(DType::F32, &[2, 3], &[1.0; 6]),
        of(DType::F64, &[3, 1], &[1.0; 3]),
        vec_of(DType::I32, &[5.0, -1.0, 9.0]),
        arr(&[], &[7i64]),
        arr::<i32>(&[0], &[]),
        bools(&[true, false, true]),
        c64(&[(1.0, 0.0), (0.0, 1.0)]),
        HostArray::zeros(DType::Float0, [3]),
    ];
    for c in all_cases() {
        for position in 0..c.inputs.len() {
            for replacement in &pool {
                let mut inputs: Vec<&HostArray> = c.inputs.iter().collect();
                inputs[position] = replacement;
                let outcome = std::panic::catch_unwind(|| apply(&c.prim, &inputs).map(|_| ()));
                assert!(outcome.is_ok(), "{} with operand {position} replaced by {}", describe(&c), replacement.ty());
            }
        }
    }
}

/// Rank 0, size 1 and size 0 arrays go through elementwise ops, shape ops, reductions and dot.
#[test]
fn scalar_single_and_empty_shapes() {
    let unary = |x: &HostArray| apply(&Prim::Unary(UnaryOp::Exp), &[x]).unwrap().remove(0);
    for dt in FLOATS {
        for dims in [&[][..], &[1], &[1, 1], &[0], &[2, 0, 3]] {
            let n: usize = dims.iter().product();
            let x = of(dt, dims, &vec![0.0; n]);
            assert_matches(&unary(&x), &of(dt, dims, &vec![1.0; n]), &format!("exp on {dims:?}"));
            let s = apply(&Prim::Reduce { op: ReduceOp::Sum, axes: (0..dims.len()).collect() }, &[&x]).unwrap();
            assert_matches(&s[0], &of(dt, &[], &[0.0]), &format!("sum over {dims:?}"));
            let p = apply(&Prim::Reduce { op: ReduceOp::Prod, axes: (0..dims.len()).collect() }, &[&x]).unwrap();
            let want = if n == 0 { 1.0 } else { 0.0 };
            assert_matches(&p[0], &of(dt, &[], &[want]), &format!("prod over {dims:?}"));
        }
        // Empty reductions give the identity of each operation.
        let empty = of(dt, &[2, 0], &[]);
        for (op, id) in [(ReduceOp::Sum, 0.0), (ReduceOp::Prod, 1.0), (ReduceOp::Max, -INF), (ReduceOp::Min, INF)] {
            let out = apply(&Prim::Reduce { op, axes: axes(&[1]) }, &[&empty]).unwrap();
            assert_matches(&out[0], &vec_of(dt, &[id, id]), &format!("{op:?} over an empty axis"));
        }
        // A size-0 contraction is a sum of nothing.
        let out = apply(&dot(&[1], &[0], &[], &[]), &[&of(dt, &[2, 0], &[]), &of(dt, &[0, 3], &[])]).unwrap();
        assert_matches(&out[0], &of(dt, &[2, 3], &[0.0; 6]), "dot over an empty dimension");
        // Broadcasting an empty array, and a scalar to an empty shape.
        let prim = Prim::BroadcastInDim { shape: [0, 4].into(), dims: axes(&[]) };
        let out = apply(&prim, &[&of(dt, &[], &[3.0])]).unwrap();
        assert_eq!(out[0].ty(), &TensorType::new(dt, [0, 4]));
        // Rank-0 binary ops and transposes.
        let out = apply(&Prim::Binary(BinaryOp::Mul), &[&of(dt, &[], &[3.0]), &of(dt, &[], &[-2.0])]).unwrap();
        assert_matches(&out[0], &of(dt, &[], &[-6.0]), "rank-0 mul");
        let out = apply(&Prim::Transpose { perm: axes(&[]) }, &[&of(dt, &[], &[5.0])]).unwrap();
        assert_matches(&out[0], &of(dt, &[], &[5.0]), "rank-0 transpose");
    }
    for dt in INTS {
        let empty = of(dt, &[0], &[]);
        let max = apply(&Prim::Reduce { op: ReduceOp::Max, axes: axes(&[0]) }, &[&empty]).unwrap();
        let min = apply(&Prim::Reduce { op: ReduceOp::Min, axes: axes(&[0]) }, &[&empty]).unwrap();
        let (lo, hi) = match dt {
            DType::I32 => (Scalar::I32(i32::MIN), Scalar::I32(i32::MAX)),
            _ => (Scalar::I64(i64::MIN), Scalar::I64(i64::MAX)),
        };
        assert_eq!((max[0].get(0), min[0].get(0)), (lo, hi));
    }
    // Gathering nothing from an empty axis is fine.
    let out = apply(&Prim::Gather { axis: 0 }, &[&of(DType::F32, &[0, 2], &[]), &arr::<i32>(&[0], &[])]).unwrap();
    assert_eq!(out[0].ty(), &TensorType::new(DType::F32, [0, 2]));
    // So is scattering nothing into an empty axis.
    let x = of(DType::F32, &[2, 0], &[]);
    let out =
        apply(&Prim::ScatterAdd { axis: 1 }, &[&x, &arr(&[3], &[0i32, 1, 2]), &of(DType::F32, &[2, 3], &[1.0; 6])]);
    assert_eq!(out.map(|o| o[0].ty().clone()).ok(), Some(x.ty().clone()));
    // Float0 data moves through shape ops.
    let z = HostArray::zeros(DType::Float0, [2, 3]);
    let out = apply(&Prim::Transpose { perm: axes(&[1, 0]) }, &[&z]).unwrap();
    assert_eq!(out[0].ty(), &TensorType::new(DType::Float0, [3, 2]));
    let out =
        apply(&Prim::ScatterAdd { axis: 0 }, &[&z, &arr(&[1], &[1i32]), &HostArray::zeros(DType::Float0, [1, 3])])
            .unwrap();
    assert_eq!(out[0].ty(), z.ty());
}
