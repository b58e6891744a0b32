//! The interpreter's corner cases: integer overflow and division by zero, shifts, Threefry's
//! published known answers, the accuracy of `erf`, and the errors of `apply` and `run`.

use gradjit_ir::interp::random::threefry2x32;
use gradjit_ir::interp::{apply, erf, run, InterpError};
use gradjit_ir::{BinaryOp, DType, Element, Function, HostArray, Prim, Shape, TensorType, UnaryOp, Value};
use std::sync::Arc;

fn arr<T: Element>(dims: &[usize], data: &[T]) -> HostArray {
    HostArray::from_slice(dims, data).expect("data fits the shape")
}

fn apply1(prim: Prim, inputs: &[&HostArray]) -> HostArray {
    apply(&prim, inputs).unwrap_or_else(|e| panic!("{prim:?}: {e}")).remove(0)
}

fn binary<T: Element>(op: BinaryOp, x: &[T], y: &[T]) -> Vec<T> {
    let out = apply1(Prim::Binary(op), &[&arr(&[x.len()], x), &arr(&[y.len()], y)]);
    out.to_vec::<T>().expect("same dtype")
}

#[test]
fn integer_arithmetic_wraps_and_never_traps() {
    use BinaryOp::*;
    assert_eq!(binary(Add, &[i32::MAX, i32::MIN], &[1, -1]), [i32::MIN, i32::MAX]);
    assert_eq!(binary(Mul, &[i64::MAX, 1 << 62], &[2, 4]), [-2, 0]);
    assert_eq!(binary(Sub, &[i32::MIN], &[1]), [i32::MAX]);
    // XLA's answers where hardware would trap: x / 0 = -1, MIN / -1 = MIN, x % 0 = x, MIN % -1 = 0.
    assert_eq!(binary(Div, &[7, i32::MIN, i32::MIN, 0], &[0, -1, 0, 0]), [-1, i32::MIN, -1, -1]);
    assert_eq!(binary(Div, &[7, i64::MIN], &[0, -1]), [-1, i64::MIN]);
    assert_eq!(binary(Rem, &[7, i32::MIN, -7, i32::MIN], &[0, -1, 0, 3]), [7, 0, -7, -2]);
    assert_eq!(binary(Rem, &[7, i64::MIN], &[0, -1]), [7, 0]);
    for op in [UnaryOp::Neg, UnaryOp::Abs] {
        let out = apply1(Prim::Unary(op), &[&arr(&[1], &[i32::MIN])]);
        assert_eq!(out.to_vec::<i32>(), Some(vec![i32::MIN]), "{op:?}(MIN)");
    }
}

#[test]
fn integer_powers_wrap_and_truncate_negative_exponents() {
    let bases = [3i32, -3, 2, 7, 0, 1, -1];
    for e in [0, 1, 5, 21, 31, 32, 40] {
        let want: Vec<i32> = bases.iter().map(|b| b.wrapping_pow(e as u32)).collect();
        assert_eq!(binary(BinaryOp::Pow, &bases, &[e; 7]), want, "x^{e}");
        let out = apply1(Prim::IntegerPow { y: e }, &[&arr(&[7], &bases)]);
        assert_eq!(out.to_vec::<i32>(), Some(want), "integer_pow[y={e}]");
    }
    let bases = [3i64, -5, 1 << 20];
    let want: Vec<i64> = bases.iter().map(|b| b.wrapping_pow(7)).collect();
    assert_eq!(binary(BinaryOp::Pow, &bases, &[7; 3]), want);
    // 1/x^n truncated: 0 unless |x| = 1; no division by zero for 0.
    let bases = [1i64, -1, -1, 2, -2, 0];
    assert_eq!(binary(BinaryOp::Pow, &bases, &[-3, -3, -4, -1, -1, -1]), [1, -1, 1, 0, 0, 0]);
    let out = apply1(Prim::IntegerPow { y: -1 }, &[&arr(&[6], &[1i32, -1, 2, -2, 0, 5])]);
    assert_eq!(out.to_vec::<i32>(), Some(vec![1, -1, 0, 0, 0, 0]));
    // An exponent of MIN does not overflow its own negation.
    let out = apply1(Prim::IntegerPow { y: i32::MIN }, &[&arr(&[3], &[1.0f64, 2.0, -1.0])]);
    assert_eq!(out.to_vec::<f64>(), Some(vec![1.0, 0.0, 1.0]));
}

#[test]
fn float_integer_pow_follows_jax_multiplication_order() {
    // x^5 = x · (x²)²; with x = 1.1 the order of the roundings shows in the last bit.
    let x = 1.1f32;
    let square = x * x;
    let want = x * (square * square);
    let out = apply1(Prim::IntegerPow { y: 5 }, &[&arr(&[1], &[x])]);
    assert_eq!(out.to_vec::<f32>().map(|v| v[0].to_bits()), Some(want.to_bits()));
    let out = apply1(Prim::IntegerPow { y: -5 }, &[&arr(&[1], &[x])]);
    assert_eq!(out.to_vec::<f32>().map(|v| v[0].to_bits()), Some((1.0 / want).to_bits()));
}

#[test]
fn shift_right_logical_shifts_the_unsigned_bits() {
    let op = BinaryOp::ShiftRightLogical;
    assert_eq!(binary(op, &[-1i32, -1, 1, 1, 8], &[28, 31, 32, -1, 3]), [15, 1, 0, 0, 1]);
    assert_eq!(binary(op, &[-1i64, -1, 1, 1], &[60, 28, 64, 100]), [15, (1 << 36) - 1, 0, 0]);
}

#[test]
fn bitwise_not_and_boolean_logic() {
    let out = apply1(Prim::Unary(UnaryOp::Not), &[&arr(&[2], &[0i64, i64::MAX])]);
    assert_eq!(out.to_vec::<i64>(), Some(vec![-1, i64::MIN]));
    assert_eq!(binary(BinaryOp::Or, &[false, true], &[false, false]), [false, true]);
}

/// Random123's known-answer vectors for threefry2x32 with 20 rounds (`kat_vectors`):
/// counter words, key words, output words.
#[test]
fn threefry_matches_the_random123_known_answers() {
    let kat: [([u32; 2], [u32; 2], [u32; 2]); 3] = [
        ([0, 0], [0, 0], [0x6b20_0159, 0x99ba_4efe]),
        ([0xffff_ffff, 0xffff_ffff], [0xffff_ffff, 0xffff_ffff], [0x1cb9_96fc, 0xbb00_2be7]),
        ([0x243f_6a88, 0x85a3_08d3], [0x1319_8a2e, 0x0370_7344], [0xc492_3a9c, 0x483d_f7a0]),
    ];
    for (counter, key, want) in kat {
        assert_eq!(threefry2x32(key, counter), want, "counter {counter:x?} key {key:x?}");
    }
}

#[test]
fn random_bits_encrypts_the_element_index() {
    let key_value = 0x0123_4567_89ab_cdef_i64;
    let key = arr(&[], &[key_value]);
    let words = [0x0123_4567, 0x89ab_cdef];
    let bits = |shape: &[usize], dtype| apply1(Prim::RandomBits { shape: Shape::new(shape), dtype }, &[&key]);

    let want32: Vec<i32> = (0..6).map(|i| threefry2x32(words, [0, i])[0] as i32).collect();
    assert_eq!(bits(&[2, 3], DType::I32).to_vec::<i32>(), Some(want32.clone()));
    let want64: Vec<i64> = (0..6)
        .map(|i| {
            let [hi, lo] = threefry2x32(words, [0, i]);
            ((u64::from(hi) << 32) | u64::from(lo)) as i64
        })
        .collect();
    assert_eq!(bits(&[6], DType::I64).to_vec::<i64>(), Some(want64));
    // Element i depends only on the key and i, not on the shape.
    assert_eq!(bits(&[3], DType::I32).to_vec::<i32>(), Some(want32[..3].to_vec()));
    assert_eq!(bits(&[0, 4], DType::I32).numel(), 0);
    // Another key, other bits; a negative key is just its two's complement bits.
    let other = apply1(Prim::RandomBits { shape: [6].into(), dtype: DType::I32 }, &[&arr(&[], &[-1i64])]);
    let want: Vec<i32> = (0..6).map(|i| threefry2x32([u32::MAX, u32::MAX], [0, i])[0] as i32).collect();
    assert_eq!(other.to_vec::<i32>(), Some(want));
}

/// `math.erf` of CPython (glibc's `erf`), across every range of the algorithm.
const ERF_REFERENCE: [(f64, f64); 28] = [
    (1e-300, 1.1283791670955126e-300),
    (1e-20, 1.1283791670955125e-20),
    (2.5e-09, 2.8209479177387815e-09),
    (0.001, 0.0011283787909692365),
    (0.2, 0.22270258921047847),
    (0.4, 0.42839235504666845),
    (0.6, 0.6038560908479259),
    (0.8, 0.7421009647076605),
    (0.84375, 0.7672256612323416),
    (0.9, 0.7969082124228322),
    (1.0, 0.8427007929497149),
    (1.1, 0.8802050695740817),
    (1.2, 0.9103139782296353),
    (1.25, 0.9229001282564582),
    (1.5, 0.9661051464753108),
    (1.8, 0.9890905016357308),
    (2.0, 0.9953222650189527),
    (2.5, 0.999593047982555),
    (2.857, 0.9999466417399131),
    (2.86, 0.9999475988269556),
    (3.0, 0.9999779095030014),
    (3.5, 0.9999992569016276),
    (4.0, 0.9999999845827421),
    (4.5, 0.9999999998033839),
    (5.0, 0.9999999999984626),
    (5.5, 0.9999999999999927),
    (5.9, 0.9999999999999999),
    (6.0, 1.0),
];

#[test]
fn erf_is_accurate_to_a_few_ulps() {
    for (x, want) in ERF_REFERENCE {
        for (x, want) in [(x, want), (-x, -want)] {
            let got = erf(x);
            assert!((got - want).abs() <= 1e-15 * want.abs(), "erf({x}) = {got:e}, want {want:e}");
        }
    }
    assert_eq!(erf(0.0).to_bits(), 0.0f64.to_bits());
    assert_eq!(erf(-0.0).to_bits(), (-0.0f64).to_bits());
    assert_eq!((erf(f64::INFINITY), erf(f64::NEG_INFINITY), erf(30.0)), (1.0, -1.0, 1.0));
    assert!(erf(f64::NAN).is_nan());
}

/// erf(x) = 2/√π · exp(-x²) · Σ_n 2ⁿ x^(2n+1) / (1·3·…·(2n+1)): positive terms, no cancellation.
fn erf_series(x: f64) -> f64 {
    let (mut term, mut sum, mut n) = (x, x, 0.0);
    while term > sum * 1e-18 {
        n += 1.0;
        term *= 2.0 * x * x / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
}

#[test]
fn erf_agrees_with_its_series_on_a_grid() {
    // Below 1, where exp(-x²) is computed to full precision, the series is a reference.
    for k in 1..=1000 {
        let x = k as f64 / 1000.0;
        let (got, want) = (erf(x), erf_series(x));
        assert!((got - want).abs() <= 1e-15 * want, "erf({x}) = {got}, series {want}");
    }
}

#[test]
fn apply_checks_operand_types_first() {
    let (x, y) = (arr(&[2], &[1.0f32, 2.0]), arr(&[3], &[1.0f32, 2.0, 3.0]));
    let err = apply(&Prim::Binary(BinaryOp::Add), &[&x, &y]).unwrap_err();
    assert!(matches!(err, InterpError::Type(ref e) if e.op == "add"), "{err:?}");
    assert_eq!(err.to_string(), "type error: add: operand shapes differ: (2,) and (3,) (f32[2] and f32[3])");
    let err = apply(&Prim::Select, &[]).unwrap_err();
    assert!(err.to_string().contains("select: expects 3 operand(s), got 0"), "{err}");
}

/// `a:f32[3] b:f32[3] -> (sin(a) * b, a)`.
fn sin_times() -> Function {
    let ty = TensorType::new(DType::F32, [3]);
    let mut f = Function::new();
    let a = f.add_param(ty.clone());
    let b = f.add_param(ty);
    let c = f.push1(Prim::Unary(UnaryOp::Sin), &[a], None).unwrap();
    let d = f.push1(Prim::Binary(BinaryOp::Mul), &[c, b], None).unwrap();
    f.outputs.extend([d, a, d]);
    f
}

#[test]
fn run_returns_every_output_even_repeated_ones() {
    let (a, b) = (arr(&[3], &[0.0f32, 1.0, -2.0]), arr(&[3], &[5.0f32, 2.0, 1.0]));
    let outs = run(&sin_times(), &[a.clone(), b]).unwrap();
    let want = [0.0, 1f32.sin() * 2.0, (-2f32).sin()];
    assert_eq!(outs.len(), 3);
    assert_eq!(outs[0].to_vec::<f32>(), Some(want.to_vec()));
    assert_eq!(outs[1], a);
    assert_eq!(outs[2], outs[0]);
}

#[test]
fn run_names_the_bad_argument() {
    let f = sin_times();
    let a = arr(&[3], &[0.0f32; 3]);
    let err = run(&f, std::slice::from_ref(&a)).unwrap_err();
    assert_eq!(err, InterpError::ArgumentCount { expected: 2, actual: 1 });
    assert_eq!(err.to_string(), "the function takes 2 argument(s), got 1");
    let err = run(&f, &[a, arr(&[3], &[0.0f64; 3])]).unwrap_err();
    assert_eq!(err.to_string(), "argument 1 has type f64[3], expected f32[3]");
    assert!(matches!(err, InterpError::ArgumentType { index: 1, .. }));
}

#[test]
fn run_reports_equations_that_do_not_verify() {
    // An output declared with the wrong type (push_typed trusts its caller).
    let ty = TensorType::new(DType::F32, [2]);
    let mut f = Function::new();
    let a = f.add_param(ty.clone());
    let b = f.push1(Prim::Unary(UnaryOp::Neg), &[a], None).unwrap();
    let c = f.push_typed(Prim::Unary(UnaryOp::Exp), &[b], [TensorType::new(DType::F32, [3])], None)[0];
    f.outputs.push(c);
    let err = run(&f, &[arr(&[2], &[1.0f32, 2.0])]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "equation 1 (exp): the equation declares output type(s) (f32[3]) but exp produces (f32[2])"
    );

    // An operand nothing defines, and an output out of range.
    let mut f = Function::new();
    let a = f.add_param(ty.clone());
    let ghost = f.new_value(ty.clone());
    let c = f.push_typed(Prim::Binary(BinaryOp::Add), &[a, ghost], [ty.clone()], None)[0];
    f.outputs.push(c);
    let err = run(&f, &[arr(&[2], &[1.0f32, 2.0])]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "equation 0 (add): value %1 is read before it is defined (run the verifier for details)"
    );
    f.outputs.push(Value::from_index(99));
    f.eqns.clear();
    assert!(run(&f, &[arr(&[2], &[1.0f32, 2.0])]).is_err());
}

#[test]
fn calls_nest_and_errors_inside_them_are_reported() {
    let ty = TensorType::new(DType::F64, [2]);
    let mut inner = Function::new();
    let x = inner.add_param(ty.clone());
    let y = inner.push1(Prim::Binary(BinaryOp::Add), &[x, x], None).unwrap();
    inner.outputs.push(y);
    let mut outer = Function::new();
    let x = outer.add_param(ty.clone());
    let y = outer.push1(Prim::Call { body: Arc::new(inner.clone()) }, &[x], None).unwrap();
    let z = outer.push1(Prim::Call { body: Arc::new(inner) }, &[y], None).unwrap();
    outer.outputs.push(z);
    let mut f = Function::new();
    let a = f.add_param(ty.clone());
    let b = f.push1(Prim::Call { body: Arc::new(outer) }, &[a], None).unwrap();
    f.outputs.push(b);
    let out = run(&f, &[arr(&[2], &[1.5f64, -1.0])]).unwrap();
    assert_eq!(out[0].to_vec::<f64>(), Some(vec![6.0, -4.0]));

    // A call of a function with no parameters and no results.
    let outs = apply(&Prim::Call { body: Arc::new(Function::new()) }, &[]).unwrap();
    assert!(outs.is_empty());

    // A body whose signature names no value is an error, not a panic.
    let mut broken = Function::new();
    broken.params.push(Value::from_index(3));
    let err = apply(&Prim::Call { body: Arc::new(broken) }, &[&arr(&[2], &[1.0f64, 2.0])]).unwrap_err();
    assert!(matches!(err, InterpError::Undefined { value: 3 }), "{err:?}");
}

#[test]
fn complex_corner_cases() {
    use num_complex::Complex64;
    let z = arr(&[2], &[Complex64::new(0.0, 0.0), Complex64::new(0.0, 0.0)]);
    let sign = apply1(Prim::Unary(UnaryOp::Sign), &[&z]);
    assert_eq!(sign, z);
    let w = arr(&[2], &[Complex64::new(0.0, 0.0), Complex64::new(-1.0, 0.0)]);
    let pow = apply1(Prim::Binary(BinaryOp::Pow), &[&z, &w]);
    let got = pow.to_vec::<Complex64>().expect("c128");
    assert_eq!(got[0], Complex64::new(1.0, 0.0));
    assert!(got[1].re.is_infinite() || got[1].re.is_nan(), "0^-1 = {}", got[1]);
}
