//! Every primitive that is not elementwise, compiled and compared with the interpreter: shape ops,
//! indexing, `dot_general` in all its forms, and the primitives run by the interpreter fallback.

mod common;

use common::{array, check, Tol};
use gradjit_ir::{parse_function, DType, HostArray};

/// Parses `src` (with `{t}` replaced by the dtype name) and checks it on seeded random arguments.
fn check_src(src: &str, dt: DType, tol: Tol) {
    let f = parse_function(&src.replace("{t}", dt.name())).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let args: Vec<HostArray> = f
        .params
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let ty = f.ty(p);
            // Integer parameters are indices: small and sometimes out of range (they are clamped).
            let (lo, hi) = if ty.dtype.is_int() { (-2.0, 9.0) } else { (-2.0, 2.0) };
            array(ty.dtype, ty.dims(), i as u64 + 100, lo, hi)
        })
        .collect();
    check(&f, &args, tol);
}

const FLOATS: [DType; 2] = [DType::F32, DType::F64];

#[test]
fn data_movement() {
    let cases = [
        "{ lambda ; a:{t}[3,4,5]. let b:{t}[5,3,4] = transpose[permutation=(2, 0, 1)] a in (b,) }",
        "{ lambda ; a:{t}[3,1000]. let b:{t}[1000,3] = transpose[permutation=(1, 0)] a in (b,) }",
        "{ lambda ; a:{t}[10,7]. let b:{t}[4,3] = slice[start=(1, 2) limit=(9, 5) stride=(2, 1)] a in (b,) }",
        "{ lambda ; a:{t}[0,7]. let b:{t}[0,3] = slice[start=(0, 2) limit=(0, 5) stride=(1, 1)] a in (b,) }",
        "{ lambda ; a:{t}[3,4]. let b:{t}[7,8] = pad[low=(1, 0) high=(1, 1) interior=(1, 1) value=-1.5] a in (b,) }",
        "{ lambda ; a:{t}[2,3] b:{t}[2,5]. let c:{t}[2,8] = concatenate[axis=1] a b in (c,) }",
        "{ lambda ; a:{t}[2,3] b:{t}[4,3] c:{t}[1,3]. let d:{t}[7,3] = concatenate[axis=0] a b c in (d,) }",
        "{ lambda ; a:{t}[4,5,6]. let b:{t}[4,5,6] = rev[axes=(0, 2)] a in (b,) }",
        "{ lambda ; a:{t}[4,6]. let b:{t}[3,8] = reshape[shape=(3, 8)] a in (b,) }",
        "{ lambda ; a:{t}[4,6]. let b:{t}[6,4] = transpose[permutation=(1, 0)] a
            c:{t}[24] = reshape[shape=(24,)] b in (c,) }",
        "{ lambda ; a:{t}[4,6]. let b:{t}[4,6] = exp a
            c:{t}[2,12] = reshape[shape=(2, 12)] b
            d:{t}[2,12] = mul c c in (d, b) }",
    ];
    for dt in FLOATS {
        for src in cases {
            check_src(src, dt, Tol::Ulps(4));
        }
    }
}

#[test]
fn indexing() {
    let cases = [
        "{ lambda ; a:{t}[10,3] i:i32[4]. let b:{t}[4,3] = gather[axis=0] a i in (b,) }",
        "{ lambda ; a:{t}[2,10,3] i:i64[2,2]. let b:{t}[2,2,2,3] = gather[axis=1] a i in (b,) }",
        "{ lambda ; a:{t}[10,3] i:i32[4] u:{t}[4,3]. let b:{t}[10,3] = scatter_add[axis=0] a i u in (b,) }",
        "{ lambda ; a:{t}[10,6] i:i32[] j:i64[]. let b:{t}[3,4] = dynamic_slice[sizes=(3, 4)] a i j in (b,) }",
        "{ lambda ; a:{t}[10,6] u:{t}[3,4] i:i32[] j:i32[]. let b:{t}[10,6] = dynamic_update_slice a u i j in (b,) }",
        "{ lambda ; a:{t}[5,7]. let b:i32[5] = argmax[axis=1 index_dtype=i32] a in (b,) }",
        "{ lambda ; a:{t}[5,7]. let b:i64[7] = argmin[axis=0 index_dtype=i64] a in (b,) }",
    ];
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for src in cases {
            check_src(src, dt, Tol::Exact);
        }
    }
    // argmax/argmin: the first NaN wins, ties go to the first occurrence.
    let x = HostArray::from_vec([2, 4], vec![1.0f32, f32::NAN, 3.0, f32::NAN, 2.0, 5.0, 5.0, -1.0]).unwrap();
    for op in ["argmax", "argmin"] {
        let src = format!("{{ lambda ; a:f32[2,4]. let b:i32[2] = {op}[axis=1 index_dtype=i32] a in (b,) }}");
        check(&parse_function(&src).unwrap(), std::slice::from_ref(&x), Tol::Exact);
    }
    // scatter_add on bool is `or`.
    let src = "{ lambda ; a:bool[5] i:i32[3] u:bool[3]. let b:bool[5] = scatter_add[axis=0] a i u in (b,) }";
    let args = [
        array(DType::Bool, &[5], 1, 0.0, 1.0),
        array(DType::I32, &[3], 2, -1.0, 6.0),
        array(DType::Bool, &[3], 3, 0.0, 1.0),
    ];
    check(&parse_function(src).unwrap(), &args, Tol::Exact);
}

#[test]
fn dot_general_forms() {
    let cases = [
        // matrix product, transposed operands (weight gradients), vector products
        "{ lambda ; a:{t}[5,7] b:{t}[7,3]. let c:{t}[5,3] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b in (c,) }",
        "{ lambda ; a:{t}[7,5] b:{t}[7,3]. let c:{t}[5,3] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b in (c,) }",
        "{ lambda ; a:{t}[5,7] b:{t}[3,7]. let c:{t}[5,3] = dot_general[lhs_contract=(1,) rhs_contract=(1,) lhs_batch=() rhs_batch=()] a b in (c,) }",
        "{ lambda ; a:{t}[7] b:{t}[7]. let c:{t}[] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b in (c,) }",
        "{ lambda ; a:{t}[4] b:{t}[3]. let c:{t}[4,3] = dot_general[lhs_contract=() rhs_contract=() lhs_batch=() rhs_batch=()] a b in (c,) }",
        // batched, and a contraction over two non-adjacent dimensions (needs a transposed copy)
        "{ lambda ; a:{t}[2,5,7] b:{t}[2,7,3]. let c:{t}[2,5,3] = dot_general[lhs_contract=(2,) rhs_contract=(1,) lhs_batch=(0,) rhs_batch=(0,)] a b in (c,) }",
        "{ lambda ; a:{t}[3,4,5,2] b:{t}[5,2,6,3]. let c:{t}[2,4,6] = dot_general[lhs_contract=(0, 2) rhs_contract=(3, 0) lhs_batch=(3,) rhs_batch=(1,)] a b in (c,) }",
        // empty contraction and empty result
        "{ lambda ; a:{t}[5,0] b:{t}[0,3]. let c:{t}[5,3] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b in (c,) }",
        "{ lambda ; a:{t}[0,4] b:{t}[4,3]. let c:{t}[0,3] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b in (c,) }",
        // the MLP's shapes
        "{ lambda ; a:{t}[64,784] b:{t}[784,256]. let c:{t}[64,256] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b in (c,) }",
    ];
    for dt in FLOATS {
        for src in cases {
            check_src(src, dt, Tol::Rel(if dt == DType::F32 { 1e-5 } else { 1e-13 }));
        }
    }
    for dt in [DType::I32, DType::I64] {
        check_src(cases[0], dt, Tol::Exact);
        check_src(cases[5], dt, Tol::Exact);
    }
}

#[test]
fn interpreter_fallback_primitives() {
    let cases = [
        ("{ lambda ; k:i64[]. let b:i32[5,3] = random_bits[shape=(5, 3) dtype=i32] k in (b,) }", DType::F32),
        (
            "{ lambda ; a:f32[4] b:f32[4]. let c:c64[4] = complex a b
            d:c64[4] = mul c c
            e:f32[4] = real d in (e,) }",
            DType::F32,
        ),
        (
            "{ lambda ; a:f64[3]. let b:f64[3] = call[body={ lambda ; x:f64[3]. let y:f64[3] = sin x in (y,) }] a
            c:f64[3] = mul b a in (c,) }",
            DType::F64,
        ),
    ];
    for (src, dt) in cases {
        check_src(src, dt, Tol::Ulps(4));
    }
}

#[test]
fn outputs_that_are_parameters_constants_or_repeated() {
    let src = "{ lambda ; a:{t}[3] b:{t}[]. let c:{t}[3] = constant[value=[1.0 2.0 3.0]]
        d:{t}[3] = mul a c
        e:{t}[] = constant[value=2.5]
        f:{t}[2] = iota[dtype={t} shape=(2,) axis=0]
      in (a, c, d, d, e, b, f) }";
    for dt in FLOATS {
        check_src(src, dt, Tol::Exact);
    }
}
