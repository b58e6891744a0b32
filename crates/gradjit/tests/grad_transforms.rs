//! Composition (grad of grad, `grad(jit(f))`, closures over outer tensors, a grad traced into
//! IR), state write-back, the per-signature caches, and the other transformations: Hessian,
//! Jacobians, `jvp`, `vjp`. `grad` calls run interpreted and compiled (`jit_common`); the other
//! transformations are checked on a plain and on a jitted function (`plain_and_jitted!`).

mod jit_common;

use gradjit::random::Key;
use gradjit::{
    assert_allclose, hessian, jacfwd, jacrev, jit, jvp, make_ir, vjp, Array, Call, DType, Module, ModuleName, Tensor,
    TrainVar, Tree, Var,
};
use jit_common::{assert_same, grad};
use std::cell::Cell;

fn item(a: &Array) -> f64 {
    a.as_host().get(0).to_f64()
}

#[test]
fn grad_of_grad_of_x_cubed() {
    let d2 = jit(gradjit::grad(gradjit::grad(|x: Tensor| x.powi(3))));
    assert_eq!(item(d2.call(2.0f32).unwrap().arg_grad(0).unwrap()), 12.0);
    // The same through closures calling `apply`, and a third derivative (6), compiled.
    let d1 = gradjit::grad(|x: Tensor| x.powi(3));
    let d2 = gradjit::grad(|x: Tensor| d1.apply(x));
    let d3 = grad(|x: Tensor| d2.apply(x));
    assert_eq!(item(d2.call(2.0f64).unwrap().arg_grad(0).unwrap()), 12.0);
    assert_eq!(item(d3.call(2.0f64).unwrap().arg_grad(0).unwrap()), 6.0);
    // The inner function was traced once, inside the outer traces, and cached there.
    assert_eq!(d1.num_traces(), 1);
    // Differentiating a jitted function sees through it: grad(grad(jit(f))).
    let cube = jit(|x: Tensor| x.powi(3));
    let d2 = gradjit::grad(gradjit::grad(&cube));
    assert_eq!(item(d2.call(2.0f32).unwrap().arg_grad(0).unwrap()), 12.0);
    assert_eq!(item(&cube.call(2.0f32).unwrap()), 8.0);
    assert_eq!((cube.num_traces(), cube.num_compiles()), (1, 1), "traced once, for grad; compiled for the call");
}

#[test]
fn grad_of_jit_inlines_the_same_ir_as_grad() {
    let f = |x: Tensor, w: Tensor| (x.matmul(&w).tanh() * 0.5).sum();
    let x = Array::from([[0.5f32, -1.0], [2.0, 0.25]]);
    let w = Array::from([[1.0f32, 0.5, -0.5], [2.0, 0.25, 1.0]]);
    let direct = gradjit::grad(f).argnums([0, 1]).call((&x, &w)).unwrap();
    let through = gradjit::grad(jit(f)).argnums([0, 1]).call((&x, &w)).unwrap();
    assert_eq!(direct.tree(), through.tree(), "bit for bit: the same equations, interpreted");
    // ... and compiled as a whole.
    let compiled = jit(gradjit::grad(jit(f)).argnums([0, 1])).call((&x, &w)).unwrap();
    jit_common::assert_same_result(&compiled, &direct);
}

#[test]
fn nested_grad_through_a_closure_over_an_outer_tensor() {
    // g(x) = ∂/∂y (x·y²) at y = x = 2x², so g'(x) = 4x: the inner derivative treats x as a
    // constant, the outer one differentiates through it (no perturbation confusion).
    let outer = grad(|x: Tensor| {
        let inner = gradjit::grad(|y: Tensor| &x * &y * &y);
        inner.apply(x.clone())
    });
    assert_eq!(item(outer.call(3.0f64).unwrap().arg_grad(0).unwrap()), 12.0);
    // A plan that captured an outer tensor belongs to that trace: the outer function, traced
    // once per call of `outer` here (new inner `grad` each time), still gives the right value.
    assert_eq!(item(outer.call(3.0f64).unwrap().arg_grad(0).unwrap()), 12.0);
    assert_eq!(outer.jitted().num_compiles(), 1);
}

#[test]
fn a_grad_keeps_its_structure_called_and_traced_into_ir() {
    let w = TrainVar::new(Array::from(vec![1.0f32, 2.0]));
    let f = |x: Tensor| ((&x * w.value()).sum(), x.sin());
    let g = grad(f).grad_vars(&w).argnums(0).has_aux(true).return_value(true);
    let r = g.call(Array::from(vec![3.0f32, 4.0])).unwrap();
    assert_eq!(r.tree().structure().to_string(), "((*, *), *, *)");
    assert_eq!(r.var_grad(&w).unwrap().to_vec::<f32>().unwrap(), [3.0, 4.0], "d/dw = x");
    assert_eq!(r.arg_grad(0).unwrap().to_vec::<f32>().unwrap(), [1.0, 2.0], "d/dx = w");
    assert_eq!(item(r.value()), 11.0);
    // Traced into IR, a grad (jitted or not) is its gradient function, with BrainPy's output structure.
    plain_and_jitted!(wrap => {
        let g = wrap(gradjit::grad(f).grad_vars(&w).argnums(0).has_aux(true).return_value(true));
        let ir = make_ir(g, Array::ones([2])).unwrap();
        assert_eq!(ir.out_tree().to_string(), "((*, *), *, *)");
        let outs = ir.call(&[Tensor::from(vec![3.0f32, 4.0])]).unwrap();
        assert_eq!(outs[0].to_vec::<f32>().unwrap(), [3.0, 4.0]);
        assert_eq!(outs[1].to_vec::<f32>().unwrap(), [1.0, 2.0]);
        assert_eq!(outs[2].item().unwrap(), 11.0);
    });
}

#[derive(Module)]
struct Stepper {
    name: ModuleName,
    w: TrainVar,
    count: Var,
}

impl Call<(Tensor,)> for Stepper {
    type Out = gradjit::Result<Tensor>;
    fn call(&self, (x,): (Tensor,)) -> gradjit::Result<Tensor> {
        self.count.set(&(self.count.value() + 1))?;
        Ok((x * self.w.value()).sum())
    }
}

fn stepper() -> Stepper {
    Stepper {
        name: ModuleName::exact("Stepper0"),
        w: TrainVar::new(Array::ones([2])),
        count: Var::new(Array::zeros_of(DType::I32, [])),
    }
}

fn count(m: &Stepper) -> i32 {
    m.count.get().item::<i32>().unwrap()
}

#[test]
fn a_counter_written_inside_a_grad_counts_calls() {
    let m = stepper();
    plain_and_jitted!(wrap => {
        let g = wrap(gradjit::grad(&m).grad_vars(&m.w));
        let start = count(&m);
        for calls in 1..=3 {
            let r = g.call(Array::from(vec![2.0f32, 5.0])).unwrap();
            assert_eq!(r.var_grad(&m.w).unwrap().to_vec::<f32>().unwrap(), [2.0, 5.0]);
            assert_eq!(count(&m), start + calls);
        }
        assert_eq!(g.num_traces(), 1);
    });
    // Traced into IR, the write is an output of the function, written back per call.
    let ir = make_ir(gradjit::grad(&m).grad_vars(&m.w), Array::ones([2])).unwrap();
    assert_eq!(count(&m), 6, "tracing runs nothing");
    ir.call(&[Tensor::from(vec![1.0f32, 1.0])]).unwrap();
    assert_eq!(count(&m), 7);
    // The module jitted by itself (BrainPy's `bm.jit(obj)`), and its gradient through the jit.
    let step = jit(&m);
    assert_eq!(item(&step.call(Array::from(vec![1.0f32, 2.0])).unwrap()), 3.0);
    assert_eq!(count(&m), 8);
    let r = gradjit::grad(&step).grad_vars(&m.w).call(Array::from(vec![1.0f32, 2.0])).unwrap();
    assert_eq!(r.var_grad(&m.w).unwrap().to_vec::<f32>().unwrap(), [1.0, 2.0]);
    assert_eq!(count(&m), 9, "the write inside the jit is written back by grad");
    // A variable changed from outside is read afresh by every call: it is an input, not a constant.
    m.w.assign(Array::full(10.0, [2])).unwrap();
    assert_eq!(item(&step.call(Array::from(vec![1.0f32, 2.0])).unwrap()), 30.0);
    assert_eq!(step.num_compiles(), 1);
}

#[test]
fn a_grad_var_written_inside_keeps_the_written_value() {
    // BrainPy: w ← 10·w; loss = w·a. d/dw (at entry) = 10a, and w is left multiplied by 10.
    let w = TrainVar::new(Array::from(2.0f32));
    let f = |a: Tensor| -> gradjit::Result<Tensor> {
        w.set(&(w.value() * 10.0))?;
        Ok(w.value() * a)
    };
    plain_and_jitted!(wrap => {
        w.assign(2.0f32).unwrap();
        let g = wrap(gradjit::value_and_grad(f).grad_vars(&w));
        let r = g.call(3.0f32).unwrap();
        assert_eq!(item(r.var_grad(&w).unwrap()), 30.0);
        assert_eq!(item(r.value()), 60.0);
        assert_eq!(w.get().item::<f32>().unwrap(), 20.0);
        let r = g.call(3.0f32).unwrap();
        assert_eq!((item(r.value()), w.get().item::<f32>().unwrap()), (600.0, 200.0), "the next call reads 20");
    });
    // A grad var overwritten before it is read does not influence the loss: zero gradient.
    let g = grad(|a: Tensor| -> gradjit::Result<Tensor> {
        w.assign(1.0f32)?;
        Ok(w.value() * a)
    })
    .grad_vars(&w);
    let r = g.call(3.0f32).unwrap();
    assert_eq!(item(r.var_grad(&w).unwrap()), 0.0);
    assert_eq!(w.get().item::<f32>().unwrap(), 1.0);
}

#[test]
fn random_draws_inside_a_jitted_grad_advance_the_key() {
    let key = Var::new(Array::from(7i64));
    let f = |x: Tensor| -> gradjit::Result<Tensor> {
        let [next, now] = Key::from_tensor(key.value())?.split2();
        key.set(next.tensor())?;
        Ok((x * now.uniform(0.0, 1.0, [3], DType::F32)).sum())
    };
    let interpreted = gradjit::grad(f).call(Array::ones([3])).unwrap().arg_grad(0).unwrap().clone();
    key.assign(Array::from(7i64)).unwrap();
    let g = jit(gradjit::grad(f));
    let first = g.call(Array::ones([3])).unwrap().arg_grad(0).unwrap().clone();
    let second = g.call(Array::ones([3])).unwrap().arg_grad(0).unwrap().clone();
    assert_same(&first, &interpreted);
    assert_ne!(first, second, "the key advanced between calls");
    assert!(second.to_vec::<f32>().unwrap().iter().all(|u| (0.0..1.0).contains(u)));
    assert_eq!((g.num_compiles(), g.num_traces()), (1, 1));
}

#[test]
fn the_cache_is_per_signature_and_per_options() {
    let runs = Cell::new(0);
    let f = |x: Tensor| {
        runs.set(runs.get() + 1);
        x.square().sum()
    };
    let g = jit(gradjit::grad(f));
    g.call(Array::ones([2])).unwrap();
    let r = g.call(Array::from(vec![1.0f32, 3.0])).unwrap();
    assert_eq!(r.arg_grad(0).unwrap().to_vec::<f32>().unwrap(), [2.0, 6.0]);
    assert_eq!((runs.get(), g.num_compiles()), (1, 1));
    assert_eq!(g.last_cache_miss(), None);
    g.call(Array::ones([3])).unwrap();
    assert!(g
        .last_cache_miss()
        .unwrap()
        .ends_with("(signature 2 of this function): argument 0: f32[3] instead of f32[2]"));
    g.call(Array::ones_of(DType::F64, [3])).unwrap();
    assert!(g.last_cache_miss().unwrap().ends_with("argument 0: f64[3] instead of f32[3]"), "the closest signature");
    assert_eq!((runs.get(), g.num_traces(), g.num_cached(), g.num_compiles()), (3, 3, 3, 3));
    // Changing an option starts a new cache (the `grad` inside keeps its own cache of `f`'s traces).
    let g = g.threads(1);
    g.call(Array::ones([2])).unwrap();
    assert_eq!((runs.get(), g.num_traces(), g.num_cached(), g.num_compiles()), (3, 1, 1, 1));
    // A `grad` alone caches the same way, and a new option (another gradient) traces again.
    let g = gradjit::grad(f);
    g.call(Array::ones([2])).unwrap();
    g.call(Array::zeros([2])).unwrap();
    g.call(Array::ones([3])).unwrap();
    assert_eq!((runs.get(), g.num_traces(), g.num_cached()), (5, 2, 2));
    let g = g.return_value(true);
    g.call(Array::ones([2])).unwrap();
    assert_eq!((runs.get(), g.num_traces()), (6, 1));
}

/// `f(x) = x0²·x1 + x1·x2³ + sin(x0)`.
fn cubic(x: Tensor) -> Tensor {
    let (x0, x1, x2) = (x.index(0), x.index(1), x.index(2));
    x0.square() * &x1 + &x1 * x2.powi(3) + x0.sin()
}

#[test]
fn hessian_of_a_3_vector_matches_the_hand_computed_matrix() {
    let x = Array::from(vec![1.0f64, 2.0, 3.0]);
    plain_and_jitted!(wrap => {
        let h = hessian(wrap(cubic)).call(&x).unwrap();
        let h = h.as_leaf().unwrap();
        assert_eq!(h.shape(), &[3, 3]);
        // ∂² = [[2x1 - sin x0, 2x0, 0], [2x0, 0, 3x2²], [0, 3x2², 6x1x2]] at (1, 2, 3).
        let want = Array::from([[4.0 - 1.0f64.sin(), 2.0, 0.0], [2.0, 0.0, 27.0], [0.0, 27.0, 36.0]]);
        assert_allclose(h, &want, 1e-12, 1e-12);
    });
    // The gradient agrees: [2x0x1 + cos x0, x0² + x2³, 3x1x2²].
    let g = grad(cubic).call(&x).unwrap();
    assert_allclose(g.arg_grad(0).unwrap(), &Array::from(vec![4.0 + 1.0f64.cos(), 28.0, 54.0]), 1e-12, 0.0);
}

#[test]
fn hessian_of_two_arguments_nests_the_argnums() {
    // f(a, b) = a²b³: H = ((2b³, 6ab²), (6ab², 6a²b)).
    let f = |a: Tensor, b: Tensor| a.square() * b.powi(3);
    plain_and_jitted!(wrap => {
        let h = hessian(wrap(f)).argnums([0, 1]).call((1.0f64, 2.0f64)).unwrap();
        assert_eq!(h.structure().to_string(), "((*, *), (*, *))");
        let values: Vec<f64> = h.leaves().into_iter().map(item).collect();
        assert_eq!(values, [16.0, 24.0, 24.0, 12.0]);
    });
    let jitted = jit(f);
    hessian(&jitted).argnums([0, 1]).call((1.0f64, 2.0f64)).unwrap();
    assert_eq!(jitted.num_compiles(), 0, "only ever traced");
}

#[test]
fn jacobians_forward_and_reverse_agree_and_nest_structures() {
    // f(x, y) = (x·y, sum(x)²) with x, y of shape (2,).
    let f = |x: Tensor, y: Tensor| (&x * &y, x.sum().square());
    let g = |p: Tree<Tensor>| p["a"].as_leaf().unwrap() * p["b"].as_leaf().unwrap();
    let (x, y) = (Array::from(vec![1.0f64, 2.0]), Array::from(vec![3.0f64, 4.0]));
    let leaf = |t: &Tree<Array>| t.as_leaf().unwrap().to_vec::<f64>().unwrap();
    plain_and_jitted!(wrap => {
        let rev = jacrev(wrap(f)).argnums([0, 1]).call((&x, &y)).unwrap();
        let fwd = jacfwd(wrap(f)).argnums([0, 1]).call((&x, &y)).unwrap();
        assert_eq!(rev.structure().to_string(), "((*, *), (*, *))");
        assert_eq!(rev, fwd);
        assert_eq!(leaf(&rev[0][0]), [3.0, 0.0, 0.0, 4.0], "∂(x·y)/∂x = diag(y)");
        assert_eq!(leaf(&rev[0][1]), [1.0, 0.0, 0.0, 2.0], "∂(x·y)/∂y = diag(x)");
        assert_eq!(leaf(&rev[1][0]), [6.0, 6.0], "∂sum(x)²/∂x = 2·sum(x)");
        assert_eq!(leaf(&rev[1][1]), [0.0, 0.0]);
        assert_eq!(rev[0][0].as_leaf().unwrap().shape(), &[2, 2]);
        // An int argnums: each output leaf holds the argument's Jacobian bare.
        let j = jacrev(wrap(f)).call((&x, &y)).unwrap();
        assert_eq!(j.structure().to_string(), "(*, *)");
        // A tree argument: each output leaf holds a tree of the argument's structure.
        let p: Tree<Array> = Tree::dict([("a", Tree::leaf(x.clone())), ("b", Tree::leaf(y.clone()))]);
        let j = jacfwd(wrap(g)).call(&p).unwrap();
        assert_eq!(j.structure().to_string(), "{'a': *, 'b': *}");
        assert_eq!(leaf(&j["b"]), [1.0, 0.0, 0.0, 2.0]);
        assert_eq!(jacfwd(wrap(g)).num_traces(), 0);
    });
}

#[test]
fn jacobians_read_and_write_state() {
    let scale = Var::new(Array::from(2.0f64));
    let calls = Var::new(Array::zeros_of(DType::I32, []));
    let f = |x: Tensor| -> gradjit::Result<Tensor> {
        calls.set(&(calls.value() + 1))?;
        Ok(&x * scale.value())
    };
    let j = jacrev(f);
    let out = j.call(Array::from(vec![1.0f64, 1.0])).unwrap();
    assert_eq!(out.as_leaf().unwrap().to_vec::<f64>().unwrap(), [2.0, 0.0, 0.0, 2.0]);
    j.call(Array::from(vec![5.0f64, 1.0])).unwrap();
    assert_eq!((calls.get().item::<i32>().unwrap(), j.num_traces()), (2, 1));
    // Through a jitted function, traced once for the Jacobian and once compiled for a call.
    let jitted = jit(f);
    let j = jacrev(&jitted);
    let out = j.call(Array::from(vec![1.0f64, 1.0])).unwrap();
    assert_eq!(out.as_leaf().unwrap().to_vec::<f64>().unwrap(), [2.0, 0.0, 0.0, 2.0]);
    j.call(Array::from(vec![5.0f64, 1.0])).unwrap();
    assert_eq!(jitted.call(Array::from(vec![5.0f64, 1.0])).unwrap().to_vec::<f64>().unwrap(), [10.0, 2.0]);
    assert_eq!((calls.get().item::<i32>().unwrap(), jitted.num_traces()), (5, 1));
}

#[test]
fn jvp_and_vjp_satisfy_the_dot_product_identity() {
    let f = |x: Tensor, w: Tensor| (x.matmul(&w).tanh(), (&x * &x).sum());
    let x = Array::from(vec![0.5f64, -1.0, 2.0]);
    let w = Array::from([[1.0f64, 0.5], [-0.5, 2.0], [0.25, 1.0]]);
    let (tx, tw) = (Array::from(vec![1.0f64, 2.0, -1.0]), Array::from([[0.5f64, 0.0], [1.0, -1.0], [0.0, 2.0]]));
    let dot = |a: &Array, b: &Array| a.to_f64_vec().iter().zip(b.to_f64_vec()).map(|(p, q)| p * q).sum::<f64>();
    plain_and_jitted!(wrap => {
        let ((y, s), (dy, ds)) = jvp(wrap(f), (&x, &w), (&tx, &tw)).unwrap();
        let (out, pullback) = vjp(wrap(f), (&x, &w)).unwrap();
        assert_eq!((&out.0, &out.1), (&y, &s));
        let (cy, cs) = (Array::from(vec![1.5f64, -2.0]), Array::from(0.75f64));
        let cts = pullback.call(Tree::tuple([Tree::leaf(cy.clone()), Tree::leaf(cs.clone())])).unwrap();
        let lhs = dot(&dy, &cy) + dot(&ds, &cs);
        let rhs = dot(&tx, cts[0].as_leaf().unwrap()) + dot(&tw, cts[1].as_leaf().unwrap());
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
        // ds = 2 x·tx.
        assert!((item(&ds) - 2.0 * dot(&x, &tx)).abs() < 1e-12);
    });
    // The compiled function computes the primal outputs jvp traced.
    let ((y, s), _) = jvp(f, (&x, &w), (&tx, &tw)).unwrap();
    let compiled = jit(f).call((&x, &w)).unwrap();
    assert_same(&compiled.0, &y);
    assert_same(&compiled.1, &s);
}
