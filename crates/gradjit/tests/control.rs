//! Control flow and custom derivatives through the user API: values (eager and traced), the
//! IR they trace to, gradients against unrolled loops and finite differences, variables carried
//! through loops and branches, and the errors of misuse.

use gradjit::surrogate::{self, Surrogate};
use gradjit::{
    cond, custom_jvp, custom_vjp, for_loop, fori_loop, grad, ifelse, jvp, make_ir, scan, scan_with, switch,
    value_and_grad, while_loop, Array, DType, Function, ScanOptions, Tensor, TrainVar, Var,
};
use gradjit_ir::Prim;

fn f64s(v: &[f64]) -> Array {
    Array::from(v.to_vec())
}

fn matrix(rows: usize, cols: usize, seed: u64) -> Array {
    let mut s = seed;
    let data: Vec<f64> = (0..rows * cols)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 33) as f64 / (1u64 << 31) as f64) * 2.0 - 1.0
        })
        .collect();
    Array::from_vec([rows, cols], data).unwrap()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + x.abs().max(y.abs())), "{what}: element {i}: {x} vs {y}\n{a:?}\n{b:?}");
    }
}

/// Equations of `f`, counting those of every sub-function.
fn size(f: &Function) -> usize {
    f.eqns.iter().map(|e| 1 + e.prim.bodies().iter().map(|b| size(b)).sum::<usize>()).sum()
}

// ---------------------------------------------------------------------------------------------
// scan, for_loop, fori_loop

/// One step of a layer of leaky integrate-and-fire neurons: `v' = 0.9 v + x W`, a spike where
/// `v'` crosses 1 (sigmoid surrogate), reset by subtraction.
fn lif_step(v: &Tensor, x: &Tensor, w: &Tensor) -> (Tensor, Tensor) {
    let v = v * 0.9 + x.matmul(w);
    let s = surrogate::sigmoid(&(&v - 1.0), 4.0);
    (&v - &s, s)
}

/// The loss of a spike train: spikes weighted by `target`, plus a penalty on the final potential.
fn lif_loss(spikes: &Tensor, v: &Tensor, target: &Tensor) -> Tensor {
    (spikes * target).sum() + (v * v).sum() * 0.1
}

#[test]
fn lif_recurrence_has_the_same_gradient_unrolled_and_scanned() {
    let (steps, inputs, neurons) = (12, 2, 3);
    let w = matrix(inputs, neurons, 1).as_host().clone();
    let w = Array::from_host(w);
    let xs = Array::from_host(matrix(steps, inputs, 2).as_host().clone());
    let target = matrix(steps, neurons, 3);
    let v0 = Array::from(vec![0.5f64; neurons]);
    let unrolled = |w: Tensor| {
        let mut v = Tensor::from(&v0);
        let mut spikes = Vec::new();
        for t in 0..steps {
            let (next, s) = lif_step(&v, &Tensor::from(&xs).index(t as i64), &w);
            v = next;
            spikes.push(s);
        }
        lif_loss(&gradjit::stack(&spikes, 0), &v, &Tensor::from(&target))
    };
    let scanned = |w: Tensor| -> gradjit::Result<Tensor> {
        let (v, spikes) = scan(|v: Tensor, x: Tensor| lif_step(&v, &x, &w), &v0, &xs)?;
        Ok(lif_loss(&spikes, &v, &Tensor::from(&target)))
    };
    let a = value_and_grad(unrolled).call(&w).unwrap();
    let b = value_and_grad(scanned).call(&w).unwrap();
    assert_close(&a.value().to_f64_vec(), &b.value().to_f64_vec(), 1e-14, "loss");
    let (ga, gb) = (a.arg_grad(0).unwrap().to_f64_vec(), b.arg_grad(0).unwrap().to_f64_vec());
    assert_close(&ga, &gb, 1e-12, "dloss/dW");
    assert!(ga.iter().any(|&g| g.abs() > 1e-3), "the surrogate gradient flows: {ga:?}");
}

#[test]
fn a_thousand_step_scan_traces_to_the_ir_of_a_ten_step_one() {
    let w = f64s(&[0.5, -0.25, 0.75]);
    let traced = |steps: usize| {
        let xs = Array::zeros_of(DType::F64, [steps, 3]);
        let f = |w: Tensor, xs: Tensor| -> gradjit::Result<Tensor> {
            let (h, hs) = scan(
                |h: Tensor, x: Tensor| {
                    let h = (&h * &w + x).tanh();
                    (h.clone(), h)
                },
                Tensor::zeros(DType::F64, &[3]),
                &xs,
            )?;
            Ok(hs.sum() + h.sum())
        };
        let ir = make_ir(f, (&w, &xs)).unwrap().into_function();
        let g = gradjit_autodiff::grad(&ir, &[0]).unwrap();
        (ir, g)
    };
    let (ir10, g10) = traced(10);
    let (ir1000, g1000) = traced(1000);
    assert_eq!(size(&ir10), size(&ir1000));
    assert_eq!(size(&g10), size(&g1000));
    assert_eq!(ir10.eqns.iter().filter(|e| matches!(e.prim, Prim::Scan { .. })).count(), 1);
    // Only the lengths differ.
    assert_eq!(ir10.to_string().replace("10", "N"), ir1000.to_string().replace("1000", "N"));
    assert_eq!(g10.to_string().replace("10", "N"), g1000.to_string().replace("1000", "N"));
}

#[test]
fn scan_matches_jax_semantics_eagerly_and_traced() {
    let xs = f64s(&[1.0, 2.0, 3.0, 4.0]);
    let body = |c: Tensor, x: Tensor| {
        let s = &c * 2.0 + &x;
        (s.clone(), s * 10.0)
    };
    let (c, ys) = scan(body, 0.0f64, &xs).unwrap();
    assert_eq!(c.item().unwrap(), 26.0);
    assert_eq!(ys.to_vec::<f64>().unwrap(), vec![10.0, 40.0, 110.0, 260.0]);
    // Reversed: the last slice first; ys keep the slices' order.
    let (c, ys) = scan_with(body, 0.0f64, &xs, ScanOptions::reverse()).unwrap();
    assert_eq!(c.item().unwrap(), 49.0);
    assert_eq!(ys.to_vec::<f64>().unwrap(), vec![490.0, 240.0, 110.0, 40.0]);
    // Inside a traced function the same scan is recorded, and computes the same.
    let f = |xs: Tensor| -> gradjit::Result<(Tensor, Tensor)> { scan(body, 0.0f64, &xs) };
    let g = grad(move |xs: Tensor| -> gradjit::Result<Tensor> {
        let (c, ys) = f(xs)?;
        Ok(c + ys.sum())
    });
    // d/dx_t of c + Σ ys: c = Σ 2^(3-t) x_t; ys_k = 10 Σ_{t<=k} 2^(k-t) x_t.
    let want: Vec<f64> =
        (0..4).map(|t| 2f64.powi(3 - t) + 10.0 * (t..4).map(|k| 2f64.powi(k - t)).sum::<f64>()).collect();
    assert_eq!(g.call(&xs).unwrap().arg_grad(0).unwrap().to_vec::<f64>().unwrap(), want);
}

#[test]
fn scan_over_trees_with_a_length_and_no_scanned_operand() {
    use gradjit::Tree;
    let init = Tree::tuple([Tree::leaf(Tensor::from(1.0f64)), Tree::leaf(Tensor::from(0i32))]);
    let (out, _) = scan_with(
        |c: Tree<Tensor>, _x: Tree<Tensor>| {
            let (x, n) = (c[0].as_leaf().unwrap().clone(), c[1].as_leaf().unwrap().clone());
            (Tree::tuple([Tree::leaf(&x * 3.0), Tree::leaf(n + 1)]), Tree::<Tensor>::None)
        },
        init,
        Tree::<Tensor>::None,
        ScanOptions::length(5),
    )
    .unwrap();
    assert_eq!(out[0].as_leaf().unwrap().item().unwrap(), 243.0);
    assert_eq!(out[1].as_leaf().unwrap().item().unwrap(), 5.0);
}

#[test]
fn for_loop_carries_the_variables_it_writes_and_differentiates_through_time() {
    // A recurrent layer whose state is a Var and whose weights are a TrainVar: BrainPy's style.
    let w = TrainVar::new(f64s(&[0.3, -0.2]));
    let h = Var::new(f64s(&[0.1, 0.4]));
    let xs = Array::from_vec([5, 2], (0..10).map(|i| (i as f64 * 0.37).sin()).collect()).unwrap();
    let run = |xs: Tensor| -> gradjit::Result<Tensor> {
        let outs = for_loop(
            |x: Tensor| -> gradjit::Result<Tensor> {
                let next = (h.value() * w.value() + x).tanh();
                h.set(&next)?;
                Ok(next.sum())
            },
            &xs,
        )?;
        Ok(outs.sum())
    };
    // The same computation unrolled, from the same state.
    let unrolled = |xs: Tensor| -> gradjit::Result<Tensor> {
        let mut total = Tensor::from(0.0f64);
        for t in 0..5 {
            let next = (h.value() * w.value() + xs.index(t)).tanh();
            h.set(&next)?;
            total += next.sum();
        }
        Ok(total)
    };
    let h0 = h.get();
    let a = grad(unrolled).grad_vars(&w).return_value(true).call(&xs).unwrap();
    let h_unrolled = h.get();
    h.set(&Tensor::from(&h0)).unwrap();
    let b = grad(run).grad_vars(&w).return_value(true).call(&xs).unwrap();
    // The loop wrote the state back: the same final state as the unrolled code.
    assert_close(&h.get().as_host().to_f64_vec(), &h_unrolled.as_host().to_f64_vec(), 1e-15, "final state");
    assert_close(&a.value().to_f64_vec(), &b.value().to_f64_vec(), 1e-14, "loss");
    let (ga, gb) = (a.var_grads().unwrap(), b.var_grads().unwrap());
    let (ga, gb) = (ga.as_leaf().unwrap().to_f64_vec(), gb.as_leaf().unwrap().to_f64_vec());
    assert_close(&ga, &gb, 1e-12, "dloss/dw through time");
}

#[test]
fn fori_loop_is_a_scan_and_differentiates() {
    // x <- x·cos(i·w) + w, for i in 2..7.
    let f = |w: Tensor| -> gradjit::Result<Tensor> {
        let x = fori_loop(2, 7, |i: Tensor, x: Tensor| &x * (i.astype(DType::F64) * &w).cos() + &w, w.ones_like())?;
        Ok(x.sum())
    };
    let unrolled = |w: Tensor| {
        let mut x = w.ones_like();
        for i in 2..7 {
            x = &x * (&w * i as f64).cos() + &w;
        }
        x.sum()
    };
    let w = f64s(&[0.3, -1.1]);
    let (a, b) = (value_and_grad(f).call(&w).unwrap(), value_and_grad(unrolled).call(&w).unwrap());
    assert_close(&a.value().to_f64_vec(), &b.value().to_f64_vec(), 1e-14, "value");
    assert_close(&a.arg_grad(0).unwrap().to_f64_vec(), &b.arg_grad(0).unwrap().to_f64_vec(), 1e-13, "gradient");
    let ir = make_ir(f, &w).unwrap();
    assert!(ir.function().eqns.iter().any(|e| matches!(e.prim, Prim::Scan { length: 5, .. })), "{ir}");
    // An empty range returns the initial value.
    let x = fori_loop(3, 3, |_i: Tensor, x: Tensor| x * 2.0, 1.5f64).unwrap();
    assert_eq!(x.item().unwrap(), 1.5);
}

// ---------------------------------------------------------------------------------------------
// while_loop

#[test]
fn while_loop_runs_until_its_condition_fails_and_differentiates_forwards_only() {
    let x = while_loop(|x: Tensor| x.lt(100.0f32), |x: Tensor| &x * 2.0, 3.0f32).unwrap();
    assert_eq!(x.item().unwrap(), 192.0);
    // Two carries: a counter and a value.
    let (n, y) =
        while_loop(|i: Tensor, _y: Tensor| i.lt(4), |i: Tensor, y: Tensor| (i + 1, y.sin()), (0i32, 1.0f64)).unwrap();
    assert_eq!(n.item().unwrap(), 4.0);
    assert!((y.item().unwrap() - 1f64.sin().sin().sin().sin()).abs() < 1e-15);

    let f = |x: Tensor| -> gradjit::Result<Tensor> {
        while_loop(|y: Tensor| y.sum().lt(10.0), |y: Tensor| &y * &y + 1.0, x)
    };
    let err = grad(|x: Tensor| -> gradjit::Result<Tensor> { Ok(f(x)?.sum()) }).call(f64s(&[1.0, 0.5])).unwrap_err();
    assert!(err.to_string().contains("reverse-mode differentiation does not work for while_loop"), "{err}");
    // Forward mode: the primal values fix the trip count (three steps of y -> y² + 1 from
    // (1, 0.5): y0 = 1, 2, 5, 26) and the tangent follows them: 2·1 · 2·2 · 2·5 = 80.
    let (y, t) = jvp(f, f64s(&[1.0, 0.5]), f64s(&[1.0, 0.0])).unwrap();
    assert_eq!(y.to_f64_vec()[0], 26.0);
    assert_eq!(t.to_f64_vec(), vec![80.0, 0.0]);
}

// ---------------------------------------------------------------------------------------------
// cond, switch, ifelse

#[test]
fn cond_takes_one_branch_and_differentiates_it() {
    let f = |x: Tensor| -> gradjit::Result<Tensor> {
        let y = cond(&x.sum().gt(0.0), |x: Tensor| x.sin() * 2.0, |x: Tensor| &x * &x, &x)?;
        Ok(y.sum())
    };
    for (x, want) in [([0.5f64, 0.25], [2.0 * 0.5f64.cos(), 2.0 * 0.25f64.cos()]), ([-0.5, 0.25], [-1.0, 0.5])] {
        let g = grad(f).call(f64s(&x)).unwrap();
        assert_close(&g.arg_grad(0).unwrap().to_f64_vec(), &want, 1e-15, "gradient of the taken branch");
    }
    // An integer predicate is true when non-zero.
    let y = cond(&Tensor::from(-3), |x: Tensor| x + 1.0, |x: Tensor| x - 1.0, 0.0f32).unwrap();
    assert_eq!(y.item().unwrap(), 1.0);
}

#[test]
fn switch_clamps_its_index_and_ifelse_takes_the_first_condition_that_holds() {
    let branches: [&dyn Fn(Tensor) -> Tensor; 3] = [&|x| x * 1.0, &|x| x * 2.0, &|x| x * 3.0];
    for (i, want) in [(-5, 7.0), (0, 7.0), (1, 14.0), (2, 21.0), (9, 21.0)] {
        assert_eq!(switch(&Tensor::from(i), &branches, 7.0f64).unwrap().item().unwrap(), want, "index {i}");
    }
    for (x, want) in [(-1.0f64, -1.0), (5.0, 10.0), (50.0, 150.0)] {
        let t = Tensor::from(x);
        let y = ifelse(&[t.lt(0.0), t.lt(10.0)], &branches, &t).unwrap();
        assert_eq!(y.item().unwrap(), want, "x = {x}");
    }
    let err = ifelse(&[Tensor::from(true)], &branches, 1.0f64).unwrap_err();
    assert!(err.to_string().contains("one branch more than conditions"), "{err}");
}

#[test]
fn a_variable_written_in_one_branch_keeps_its_value_in_the_other() {
    let counter = Var::new(Array::from(0.0f64));
    let step = |x: Tensor| -> gradjit::Result<Tensor> {
        cond(
            &x.gt(0.0),
            |x: Tensor| -> gradjit::Result<Tensor> {
                counter.set(&(counter.value() + 1.0))?;
                Ok(x * 2.0)
            },
            |x: Tensor| -> gradjit::Result<Tensor> { Ok(x) },
            &x,
        )
    };
    for x in [1.0f64, -1.0, 2.0, 3.0, -4.0] {
        let _ = step(Tensor::from(x)).unwrap();
    }
    assert_eq!(counter.get().item::<f64>().unwrap(), 3.0);
    // Traced, the variable is an input and an output of the cond.
    let ir = make_ir(step, 1.0f64).unwrap();
    assert_eq!((ir.var_inputs().len(), ir.var_outputs().len()), (1, 1));
}

#[test]
fn branches_must_agree_on_their_types() {
    let err = cond(&Tensor::from(true), |x: Tensor| x.sum(), |x: Tensor| x, f64s(&[1.0, 2.0])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("every branch must return the same types") && text.contains("f64[2]"), "{text}");
    assert!(text.contains("control.rs"), "the error points at the call: {text}");
}

// ---------------------------------------------------------------------------------------------
// Errors of loops

#[test]
fn loop_misuse_is_reported_at_the_call() {
    let xs = f64s(&[1.0, 2.0]);
    let err = scan(|c: Tensor, x: Tensor| (c.astype(DType::F32) + x.astype(DType::F32), x), 0.0f64, &xs).unwrap_err();
    assert!(
        err.to_string().contains("the body returns a carry of types f32[] for an initial carry of types f64[]"),
        "{err}"
    );
    let err = scan(|c: Tensor, x: Tensor| c + x, 0.0f64, &xs).unwrap_err();
    assert!(err.to_string().contains("must return a pair (carry, y)"), "{err}");
    let uneven = (f64s(&[1.0, 2.0]), f64s(&[1.0, 2.0, 3.0]));
    let err = for_loop(|a: Tensor, b: Tensor| a + b, uneven).unwrap_err();
    assert!(err.to_string().contains("disagree on their leading axis"), "{err}");
    let err = while_loop(|x: Tensor| x.sum(), |x: Tensor| x, 1.0f64).unwrap_err();
    assert!(err.to_string().contains("the condition must return a bool scalar"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Nesting and closures

#[test]
fn loops_nest_and_capture_tensors_of_the_enclosing_function() {
    // Outer loop over rows, inner loop over the elements of each row, both reading `w`, which
    // is differentiated.
    let f = |w: Tensor, xs: Tensor| -> gradjit::Result<Tensor> {
        let (total, _) = scan(
            |acc: Tensor, row: Tensor| -> gradjit::Result<(Tensor, Tensor)> {
                let (inner, _) = scan(|a: Tensor, x: Tensor| ((&a * &w + x).sin(), a), acc.clone(), &row)?;
                Ok((inner, acc))
            },
            0.0f64,
            &xs,
        )?;
        Ok(total)
    };
    let unrolled = |w: Tensor, xs: Tensor| {
        let mut acc = Tensor::from(0.0f64);
        for i in 0..3 {
            for j in 0..4 {
                acc = (&acc * &w + xs.index(i).index(j)).sin();
            }
        }
        acc
    };
    let xs = Array::from_vec([3, 4], (0..12).map(|i| (i as f64).cos()).collect()).unwrap();
    let w = 0.7f64;
    let a = value_and_grad(f).call((w, &xs)).unwrap();
    let b = value_and_grad(unrolled).call((w, &xs)).unwrap();
    assert_close(&a.value().to_f64_vec(), &b.value().to_f64_vec(), 1e-14, "value");
    assert_close(&a.arg_grad(0).unwrap().to_f64_vec(), &b.arg_grad(0).unwrap().to_f64_vec(), 1e-13, "d/dw");
}

// ---------------------------------------------------------------------------------------------
// Custom derivatives and surrogates

#[test]
fn custom_jvp_and_custom_vjp_replace_the_derivative() {
    // log(1 + exp(x)) with a stable hand-written derivative.
    let softplus =
        custom_jvp(|x: Tensor| (x.exp() + 1.0).log(), |x: Tensor, t: Tensor| ((x.exp() + 1.0).log(), t * x.sigmoid()));
    let g =
        grad(|x: Tensor| -> gradjit::Result<Tensor> { Ok(softplus.call(x)?.sum()) }).call(f64s(&[0.0, 2.0])).unwrap();
    assert_close(&g.arg_grad(0).unwrap().to_f64_vec(), &[0.5, 1.0 / (1.0 + (-2f64).exp())], 1e-15, "custom jvp");
    // Forward mode uses the same rule.
    let (_, t) = jvp(|x: Tensor| softplus.call(x), f64s(&[0.0]), f64s(&[3.0])).unwrap();
    assert_close(&t.to_f64_vec(), &[1.5], 1e-15, "custom jvp forwards");

    // A gradient scaled by 1/2 on the way back, with a residual.
    let halved = custom_vjp(
        |x: Tensor, y: Tensor| &x * &y,
        |x: Tensor, y: Tensor| (&x * &y, vec![x, y]),
        |res: Vec<Tensor>, ct: Tensor| (&ct * &res[1] * 0.5, &ct * &res[0] * 0.5),
    );
    let g = grad(|x: Tensor, y: Tensor| -> gradjit::Result<Tensor> { Ok(halved.call((x, y))?.sum()) })
        .argnums([0, 1])
        .call((f64s(&[2.0]), f64s(&[3.0])))
        .unwrap();
    assert_eq!(g.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), vec![1.5]);
    assert_eq!(g.arg_grad(1).unwrap().to_vec::<f64>().unwrap(), vec![1.0]);
    let ones = || (f64s(&[1.0]), f64s(&[1.0]));
    let err = jvp(|x: Tensor, y: Tensor| halved.call((x, y)), ones(), ones()).unwrap_err();
    assert!(err.to_string().contains("does not work through a custom_vjp function"), "{err}");
}

#[test]
fn every_surrogate_spikes_forwards_and_has_its_derivative_backwards() {
    let xs = [-1.5f64, -0.3, 0.0, 0.2, 0.9, 2.5];
    let x = f64s(&xs);
    let table = [
        Surrogate::Sigmoid { alpha: 4.0 },
        Surrogate::Arctan { alpha: 1.0 },
        Surrogate::PiecewiseQuadratic { alpha: 1.0 },
        Surrogate::PiecewiseLeakyRelu { c: 0.01, w: 1.0 },
        Surrogate::ReluGrad { alpha: 0.3, width: 1.0 },
        Surrogate::GaussianGrad { sigma: 0.5, alpha: 0.5 },
    ];
    let formula = |s: Surrogate, x: f64| -> f64 {
        use std::f64::consts::PI;
        match s {
            Surrogate::Sigmoid { alpha } => {
                let g = 1.0 / (1.0 + (-alpha * x).exp());
                alpha * g * (1.0 - g)
            }
            Surrogate::Arctan { alpha } => alpha / (2.0 * (1.0 + (PI / 2.0 * alpha * x).powi(2))),
            Surrogate::PiecewiseQuadratic { alpha } => (alpha - alpha * alpha * x.abs()).max(0.0),
            Surrogate::PiecewiseLeakyRelu { c, w } => {
                if x.abs() <= w {
                    1.0 / w
                } else {
                    c
                }
            }
            Surrogate::ReluGrad { alpha, width } => (alpha * (width - x.abs())).max(0.0),
            Surrogate::GaussianGrad { sigma, alpha } => {
                alpha * (-x * x / (2.0 * sigma * sigma)).exp() / ((2.0 * PI).sqrt() * sigma)
            }
        }
    };
    for s in table {
        let spikes = s.spike(&Tensor::from(&x)).to_vec::<f64>().unwrap();
        assert_eq!(spikes, vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0], "{s:?}");
        let g = grad(move |x: Tensor| s.spike(&x).sum()).call(&x).unwrap();
        let want: Vec<f64> = xs.iter().map(|&x| formula(s, x)).collect();
        assert_close(&g.arg_grad(0).unwrap().to_f64_vec(), &want, 1e-15, &format!("{s:?}"));
    }
    // The named functions are the table's rows.
    let t = Tensor::from(&x);
    assert_eq!(surrogate::arctan(&t, 2.0).to_vec::<f64>().unwrap(), spike_train());
    assert_eq!(surrogate::gaussian_grad(&t, 0.5, 0.5).to_vec::<f64>().unwrap(), spike_train());
    fn spike_train() -> Vec<f64> {
        vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0]
    }
}

#[test]
fn a_while_condition_sees_the_variables_its_body_writes() {
    let steps = Var::new(Array::from(0i32));
    let limit = Var::new(Array::from(5i32));
    let x = while_loop(
        |_x: Tensor| steps.value().lt(limit.value()),
        |x: Tensor| -> gradjit::Result<Tensor> {
            steps.set(&(steps.value() + 1))?;
            Ok(x * 3.0)
        },
        1.0f64,
    )
    .unwrap();
    assert_eq!(x.item().unwrap(), 243.0);
    assert_eq!(steps.get().item::<i32>().unwrap(), 5);
    let err = while_loop(
        |x: Tensor| -> gradjit::Result<Tensor> {
            steps.set(&steps.value())?;
            Ok(x.lt(1.0))
        },
        |x: Tensor| x,
        2.0f64,
    )
    .unwrap_err();
    assert!(err.to_string().contains("the condition must not write variables"), "{err}");
}

#[test]
fn custom_rules_may_capture_tensors_of_the_enclosing_function() {
    // `scale` is a tensor of the differentiated function, captured by the custom function: its
    // value is used, and the custom rule alone gives the derivative with respect to `x`.
    let f = |x: Tensor, scale: Tensor| -> gradjit::Result<Tensor> {
        let scaled = custom_jvp(|x: Tensor| &x * &scale, |x: Tensor, t: Tensor| (&x * &scale, t * 10.0));
        Ok(scaled.call(x)?.sum())
    };
    let g = grad(f).argnums([0, 1]).call((f64s(&[1.0, 2.0]), 3.0f64)).unwrap();
    assert_eq!(g.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), vec![10.0, 10.0]);
    assert_eq!(g.arg_grad(1).unwrap().to_vec::<f64>().unwrap(), vec![0.0]);
    let value = value_and_grad(f).call((f64s(&[1.0, 2.0]), 3.0f64)).unwrap();
    assert_eq!(value.value().item::<f64>().unwrap(), 9.0);
}
