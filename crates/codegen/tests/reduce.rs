//! Reductions: every operation over every subset of axes, fused with the elementwise work that feeds them,
//! against the interpreter (sums in another order: within a few ulps per term; max/min exactly).

mod common;

use common::{array, check, sum_tol, Tol, SIZES};
use gradjit_ir::{Axes, BinaryOp, DType, Function, Prim, ReduceOp, TensorType, UnaryOp};

fn tol(op: ReduceOp, dt: DType, n: usize) -> Tol {
    match op {
        ReduceOp::Max | ReduceOp::Min => Tol::Exact,
        _ if !dt.is_float() => Tol::Exact,
        ReduceOp::Sum => sum_tol(dt, n),
        ReduceOp::Prod => Tol::Rel(if dt == DType::F32 { 1e-5 } else { 1e-13 } * (n as f64 + 1.0)),
    }
}

/// `reduce(op, x * x + x, axes)`: the reduction fused with its producers.
fn reduce_fn(op: ReduceOp, dt: DType, dims: &[usize], axes: &[usize]) -> Function {
    let mut f = Function::new();
    let x = f.add_param(TensorType::new(dt, dims.to_vec()));
    let sq = f.push1(Prim::Binary(BinaryOp::Mul), &[x, x], None).unwrap();
    let y = f.push1(Prim::Binary(BinaryOp::Add), &[sq, x], None).unwrap();
    let r = f.push1(Prim::Reduce { op, axes: Axes::from_slice(axes) }, &[y], None).unwrap();
    f.outputs.push(r);
    f
}

#[test]
fn full_reductions_at_every_size() {
    for dt in [DType::F32, DType::F64, DType::I32, DType::I64] {
        for op in ReduceOp::ALL {
            for (k, &n) in SIZES.iter().enumerate() {
                // Products of many terms overflow or vanish: keep them near 1.
                let (lo, hi) = if *op == ReduceOp::Prod { (-0.05, 0.04) } else { (-2.0, 2.0) };
                let (lo, hi) = if dt.is_float() { (lo, hi) } else { (-3.0, 3.0) };
                let x = array(dt, &[n], k as u64 + 20, lo, hi);
                check(&reduce_fn(*op, dt, &[n], &[0]), &[x], tol(*op, dt, n));
            }
        }
    }
}

#[test]
fn partial_reductions_over_every_axis_subset() {
    let shapes: [&[usize]; 5] = [&[3, 4, 5], &[1, 7, 1], &[8, 1, 1000], &[2, 3, 16700], &[300, 2, 200]];
    for dt in [DType::F32, DType::F64] {
        for dims in shapes {
            for mask in 0u32..8 {
                let axes: Vec<usize> = (0..3).filter(|a| mask & (1 << a) != 0).collect();
                for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
                    let x = array(dt, dims, u64::from(mask) + 40, -2.0, 2.0);
                    let n: usize = axes.iter().map(|&a| dims[a]).product();
                    check(&reduce_fn(op, dt, dims, &axes), &[x], tol(op, dt, n));
                }
            }
        }
    }
}

#[test]
fn reductions_propagate_nan_and_order_signed_zeros() {
    for dt in [DType::F32, DType::F64] {
        let mut x = array(dt, &[1003], 1, -1.0, 1.0);
        x.set(517, gradjit_ir::Scalar::F64(f64::NAN));
        for op in [ReduceOp::Max, ReduceOp::Min, ReduceOp::Sum] {
            let mut f = Function::new();
            let p = f.add_param(TensorType::new(dt, [1003]));
            let r = f.push1(Prim::Reduce { op, axes: Axes::from_slice(&[0]) }, &[p], None).unwrap();
            f.outputs.push(r);
            check(&f, &[x.clone()], Tol::Exact);
        }
        let zeros = gradjit_ir::HostArray::from_vec([2], vec![-0.0f64, 0.0]).unwrap().cast(dt);
        for op in [ReduceOp::Max, ReduceOp::Min] {
            let mut f = Function::new();
            let p = f.add_param(TensorType::new(dt, [2]));
            let r = f.push1(Prim::Reduce { op, axes: Axes::from_slice(&[0]) }, &[p], None).unwrap();
            f.outputs.push(r);
            check(&f, std::slice::from_ref(&zeros), Tol::Exact);
        }
    }
}

#[test]
fn bool_reductions_are_any_and_all() {
    for &n in &[0, 1, 5, 1000] {
        for op in [ReduceOp::Max, ReduceOp::Min] {
            let mut f = Function::new();
            let p = f.add_param(TensorType::new(DType::Bool, [n]));
            let r = f.push1(Prim::Reduce { op, axes: Axes::from_slice(&[0]) }, &[p], None).unwrap();
            f.outputs.push(r);
            check(&f, &[array(DType::Bool, &[n], 3, 0.0, 1.0)], Tol::Exact);
        }
    }
}

/// Softmax-like: a row max, broadcast back, exp, a row sum: two passes over the rows.
#[test]
fn reductions_feeding_broadcasts_become_separate_passes() {
    for dt in [DType::F32, DType::F64] {
        for &(m, n) in &[(1, 1), (3, 5), (4, 1000), (64, 513)] {
            let src = format!(
                "{{ lambda ; a:{t}[{m},{n}]. let
    b:{t}[{m}] = reduce_max[axes=(1,)] a
    c:{t}[{m},{n}] = broadcast_in_dim[shape=({m}, {n}) broadcast_dimensions=(0,)] b
    d:{t}[{m},{n}] = sub a c
    e:{t}[{m},{n}] = exp d
    f:{t}[{m}] = reduce_sum[axes=(1,)] e
    g:{t}[{m},{n}] = broadcast_in_dim[shape=({m}, {n}) broadcast_dimensions=(0,)] f
    h:{t}[{m},{n}] = div e g
  in (h,) }}",
                t = dt.name()
            );
            let f = gradjit_ir::parse_function(&src).unwrap();
            check(&f, &[array(dt, &[m, n], 5, -3.0, 3.0)], Tol::Rel(if dt == DType::F32 { 1e-5 } else { 1e-13 }));
        }
    }
}

#[test]
fn scalar_epilogue_consumes_full_reductions() {
    // mean and variance: sum(x)/n and sum(x*x)/n - mean^2, all in one kernel's loop and epilogue.
    for dt in [DType::F32, DType::F64] {
        for &n in &[1usize, 7, 1000, 100003] {
            let mut f = Function::new();
            let ty = TensorType::new(dt, [n]);
            let x = f.add_param(ty);
            let s = f.push1(Prim::Reduce { op: ReduceOp::Sum, axes: Axes::from_slice(&[0]) }, &[x], None).unwrap();
            let sq = f.push1(Prim::Binary(BinaryOp::Mul), &[x, x], None).unwrap();
            let s2 = f.push1(Prim::Reduce { op: ReduceOp::Sum, axes: Axes::from_slice(&[0]) }, &[sq], None).unwrap();
            let nn = f.push1(Prim::splat(n as f64, &TensorType::new(dt, [])), &[], None).unwrap();
            let mean = f.push1(Prim::Binary(BinaryOp::Div), &[s, nn], None).unwrap();
            let m2 = f.push1(Prim::Binary(BinaryOp::Div), &[s2, nn], None).unwrap();
            let mm = f.push1(Prim::Binary(BinaryOp::Mul), &[mean, mean], None).unwrap();
            let var = f.push1(Prim::Binary(BinaryOp::Sub), &[m2, mm], None).unwrap();
            let sd = f.push1(Prim::Unary(UnaryOp::Sqrt), &[var], None).unwrap();
            f.outputs.extend([mean, sd]);
            let exe = check(&f, &[array(dt, &[n], 7, 0.0, 2.0)], Tol::Rel(if dt == DType::F32 { 1e-4 } else { 1e-12 }));
            assert_eq!(exe.plan().kernels().count(), 1, "{}", exe.plan());
        }
    }
}
