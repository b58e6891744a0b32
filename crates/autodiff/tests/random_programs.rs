//! Random programs: chains of primitives with fan-out, broadcasts, reductions and calls,
//! differentiated to first and second order and checked against finite differences.
//!
//! The per-primitive tests (`rules.rs`) check each rule alone; these check the drivers: the
//! accumulation of cotangents of values used several times, symbolic zeros flowing through
//! unrelated branches, calls, and the composition of forward mode over reverse mode.

mod common;

use common::{axpy, pair, run, sample, Domain, Rng};
use gradjit_autodiff::{grad, hvp, jvp, vjp};
use gradjit_ir::{
    Axes, BinaryOp, CompareOp, DType, Function, HostArray, Prim, ReduceOp, Shape, TensorType, UnaryOp, Value,
};
use proptest::prelude::*;
use std::sync::Arc;

const DIMS: [usize; 2] = [2, 3];

fn push(f: &mut Function, prim: Prim, ins: &[Value]) -> Value {
    f.push1(prim, ins, None).expect("well-typed random program")
}

/// A random program of `f64[2,3]` values with two parameters and a scalar loss.
fn program(rng: &mut Rng) -> Function {
    let mut f = Function::new();
    let ty = TensorType::new(DType::F64, DIMS);
    let mut values = vec![f.add_param(ty.clone()), f.add_param(ty.clone())];
    let steps = 3 + rng.below(8);
    for _ in 0..steps {
        // Recent values are likelier operands, so chains get deep; older ones fan out.
        let pick = |rng: &mut Rng| values[values.len() - 1 - rng.below(values.len().min(4) as u64) as usize];
        let (a, b) = (pick(rng), pick(rng));
        let unary = |op| Prim::Unary(op);
        let v = match rng.below(13) {
            0 => push(&mut f, unary(UnaryOp::Sin), &[a]),
            1 => push(&mut f, unary(UnaryOp::Tanh), &[a]),
            2 => push(&mut f, unary(UnaryOp::Logistic), &[a]),
            3 => push(&mut f, unary(UnaryOp::Neg), &[a]),
            4 => push(&mut f, Prim::IntegerPow { y: 2 }, &[a]),
            5 => push(&mut f, Prim::Binary(BinaryOp::Add), &[a, b]),
            6 => push(&mut f, Prim::Binary(BinaryOp::Sub), &[a, b]),
            7 => push(&mut f, Prim::Binary(BinaryOp::Mul), &[a, b]),
            8 => push(&mut f, Prim::Binary(BinaryOp::Max), &[a, b]),
            9 => push(&mut f, Prim::Rev { axes: Axes::from_slice(&[1]) }, &[a]),
            10 => {
                let rows = push(&mut f, Prim::Reduce { op: ReduceOp::Sum, axes: Axes::from_slice(&[1]) }, &[a]);
                push(&mut f, Prim::BroadcastInDim { shape: Shape::new(&DIMS), dims: Axes::from_slice(&[0]) }, &[rows])
            }
            11 => {
                let gt = push(&mut f, Prim::Compare(CompareOp::Gt), &[a, b]);
                let s = push(&mut f, unary(UnaryOp::Cos), &[b]);
                push(&mut f, Prim::Select, &[gt, a, s])
            }
            _ => {
                let mut body = Function::new();
                let (x, y) = (body.add_param(ty.clone()), body.add_param(ty.clone()));
                let s = push(&mut body, unary(UnaryOp::Sin), &[x]);
                let m = push(&mut body, Prim::Binary(BinaryOp::Mul), &[s, y]);
                body.outputs.push(m);
                push(&mut f, Prim::Call { body: Arc::new(body) }, &[a, b])
            }
        };
        values.push(v);
    }
    let last = *values.last().expect("at least the parameters");
    let loss = push(&mut f, Prim::Reduce { op: ReduceOp::Sum, axes: Axes::from_slice(&[0, 1]) }, &[last]);
    f.outputs = vec![loss, last];
    f
}

fn check(seed: u64) {
    let mut rng = Rng::new(seed);
    let f = program(&mut rng);
    let ty = TensorType::new(DType::F64, DIMS);
    let draw = |rng: &mut Rng| sample(rng, &ty, Domain::Any);
    let xs = vec![draw(&mut rng), draw(&mut rng)];
    let ts = vec![draw(&mut rng), draw(&mut rng)];
    let cts = vec![sample(&mut rng, &TensorType::scalar(DType::F64), Domain::Any), draw(&mut rng)];
    let eps = 1e-6;
    let shifted = |g: &Function, s: f64| -> Vec<HostArray> {
        run(g, &xs.iter().zip(&ts).map(|(x, t)| axpy(x, s, t)).collect::<Vec<_>>())
    };
    let close = |a: f64, b: f64, tol: f64, what: &str| {
        assert!((a - b).abs() <= tol * (1.0 + a.abs() + b.abs()), "seed {seed}: {what}: {a} vs {b}\n{f}");
    };

    // First order: <jvp(t), c> = <t, vjp(c)> ≈ finite differences.
    let j = run(&jvp(&f).unwrap(), &[xs.clone(), ts.clone()].concat());
    let v = run(&vjp(&f, &[0, 1]).unwrap(), &[xs.clone(), cts.clone()].concat());
    let forward = pair(&j[2], &cts[0]) + pair(&j[3], &cts[1]);
    let backward = pair(&ts[0], &v[2]) + pair(&ts[1], &v[3]);
    close(forward, backward, 1e-10, "dot-product test");
    let (plus, minus) = (shifted(&f, eps), shifted(&f, -eps));
    let fd: f64 = (0..2).map(|o| (pair(&plus[o], &cts[o]) - pair(&minus[o], &cts[o])) / (2.0 * eps)).sum();
    close(forward, fd, 1e-6, "finite differences");

    // Second order: <H t, w> by forward-over-reverse ≈ finite differences of the gradient.
    let g = grad(&f, &[0, 1]).unwrap();
    let w = [draw(&mut rng), draw(&mut rng)];
    let hv = run(&hvp(&f, &[0, 1]).unwrap(), &[xs.clone(), ts.clone()].concat());
    let (gp, gm) = (shifted(&g, eps), shifted(&g, -eps));
    let fd2: f64 = (0..2).map(|k| (pair(&gp[2 + k], &w[k]) - pair(&gm[2 + k], &w[k])) / (2.0 * eps)).sum();
    let exact: f64 = (0..2).map(|k| pair(&hv[k], &w[k])).sum();
    close(exact, fd2, 1e-5, "Hessian-vector product");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_differentiate_correctly(seed in any::<u64>()) {
        check(seed);
    }
}
