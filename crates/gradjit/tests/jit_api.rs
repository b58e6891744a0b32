//! `jit` itself: outputs in the function's own structure, the cache and why it misses, modules
//! and methods, jit inside jit, `apply`, one `Jit` on four threads, kernel threads and dumps.

mod jit_common;

use gradjit::{grad, jit, make_ir, Array, Call, DType, Jit, Module, ModuleName, Result, Tensor, TrainVar, Tree, Var};
use jit_common::{assert_same, assert_same_tree};
use std::cell::Cell;

fn arange(n: usize) -> Array {
    (Tensor::from(Array::arange(n)) * 0.25 - 1.0).to_array().unwrap()
}

#[test]
fn outputs_keep_the_functions_structure() {
    let (x, y) = (arange(5), Array::full(0.5, [5]));
    let f = |x: Tensor, y: Tensor| ((&x * &y).sum(), (x.tanh(), y.exp()));
    let (s, (t, e)) = jit(f).call((&x, &y)).unwrap();
    let (s0, (t0, e0)) = f(Tensor::from(&x), Tensor::from(&y));
    assert_same(&s, &s0.to_array().unwrap());
    assert_same(&t, &t0.to_array().unwrap());
    assert_same(&e, &e0.to_array().unwrap());
    // Vec and tree parameters and outputs, a `Result`, and no parameters at all.
    let split = jit(|xs: Vec<Tensor>| vec![&xs[0] + &xs[1], &xs[0] * &xs[1]]);
    let out = split.call(vec![x.clone(), y.clone()]).unwrap();
    assert_eq!(out.len(), 2);
    assert_same(&out[1], &(Tensor::from(&x) * Tensor::from(&y)).to_array().unwrap());
    let params: Tree<Array> = Tree::dict([("w", Tree::leaf(x.clone())), ("b", Tree::leaf(Array::from(2.0f32)))]);
    let affine = jit(|p: Tree<Tensor>| -> Result<Tree<Tensor>> {
        let (w, b) = (p["w"].as_leaf().unwrap(), p["b"].as_leaf().unwrap());
        Ok(Tree::dict([("y", Tree::leaf(w * b)), ("n", Tree::leaf(w.sum()))]))
    });
    let out = affine.call(&params).unwrap();
    assert_eq!(out.structure().to_string(), "{'n': *, 'y': *}");
    assert_eq!(out["y"].as_leaf().unwrap().to_vec::<f32>().unwrap(), [-2.0, -1.5, -1.0, -0.5, 0.0]);
    let constant = jit(|| Tensor::from(2.0f32) * 3.0);
    assert_eq!(constant.call(()).unwrap().item::<f32>().unwrap(), 6.0);
    // The identity returns its argument's values in a new array.
    assert_same(&jit(|x: Tensor| x).call(&x).unwrap(), &x);
}

#[test]
fn a_new_signature_compiles_again_and_says_why() {
    let runs = Cell::new(0);
    let f = jit(|x: Tensor| {
        runs.set(runs.get() + 1);
        x.square().sum()
    })
    .explain_cache_misses(true);
    assert!(f.options().explain_cache_misses);
    for _ in 0..3 {
        assert_eq!(f.call(Array::ones([3])).unwrap().item::<f32>().unwrap(), 3.0);
    }
    assert_eq!((runs.get(), f.num_traces(), f.num_compiles(), f.num_cached()), (1, 1, 1, 1));
    assert_eq!(f.last_cache_miss(), None, "the first trace is not a miss");
    f.call(Array::ones_of(DType::F64, [3])).unwrap();
    let why = f.last_cache_miss().unwrap();
    assert!(why.contains("jit_api.rs:"), "names the call: {why}");
    assert!(why.ends_with("(signature 2 of this function): argument 0: f64[3] instead of f32[3]"), "{why}");
    f.call(Array::ones([3])).unwrap();
    assert_eq!((runs.get(), f.num_compiles()), (2, 2), "both signatures stay cached");
    // A change of structure is named as such.
    let g = jit(|t: Tree<Tensor>| t.leaves().into_iter().fold(Tensor::from(0.0f32), |a, b| a + b.sum()));
    g.call(Tree::tuple([Tree::leaf(Array::ones([2])), Tree::leaf(Array::ones([2]))])).unwrap();
    g.call(Tree::list([Tree::leaf(Array::ones([2])), Tree::leaf(Array::ones([2]))])).unwrap();
    assert!(g.last_cache_miss().unwrap().ends_with("argument 0: structure [*, *] instead of (*, *)"));
}

#[test]
fn the_least_recently_used_signature_is_dropped_beyond_the_capacity() {
    let f = jit(|x: Tensor| x.sum()).cache_capacity(2);
    for n in [1, 2, 1, 3] {
        assert_eq!(f.call(Array::ones([n])).unwrap().item::<f32>().unwrap(), n as f32);
    }
    assert_eq!((f.num_cached(), f.num_compiles()), (2, 3), "[2] was dropped for [3]");
    f.call(Array::ones([1])).unwrap();
    assert_eq!(f.num_compiles(), 3, "[1] was used more recently than [2]");
    f.call(Array::ones([2])).unwrap();
    assert_eq!((f.num_cached(), f.num_compiles()), (2, 4));
}

/// A leaky integrator: `v ← v + (x - v)/τ`, spiking (and resetting) at 1.
#[derive(Module)]
struct Lif {
    name: ModuleName,
    v: Var,
    tau: f32,
}

impl Lif {
    fn new() -> Lif {
        Lif { name: ModuleName::exact("Lif0"), v: Var::new(Array::zeros([4])), tau: 2.0 }
    }
    fn step(&self, x: Tensor) -> Result<Tensor> {
        let v = self.v.value();
        let v = &v + (x - &v) / self.tau;
        let spike = v.ge(1.0);
        self.v.set(&gradjit::select(&spike, v.zeros_like(), &v))?;
        Ok(spike.astype(DType::F32))
    }
}

impl Call<(Tensor,)> for Lif {
    type Out = Result<Tensor>;
    fn call(&self, (x,): (Tensor,)) -> Result<Tensor> {
        self.step(x)
    }
}

#[test]
fn a_jitted_module_steps_its_state_like_the_eager_one() {
    let (eager, compiled) = (Lif::new(), Lif::new());
    let step = jit(&compiled);
    let method = jit(|x: Tensor| compiled.step(x * 1.0));
    let x = Array::from(vec![0.5f32, 1.5, 3.0, 0.0]);
    for i in 0..6 {
        let want = eager.step(Tensor::from(&x)).unwrap().to_array().unwrap();
        let got = if i % 2 == 0 { step.call(&x) } else { method.call(&x) }.unwrap();
        assert_same(&got, &want);
        assert_same(&compiled.v.get(), &eager.v.get());
    }
    assert_eq!((step.num_compiles(), method.num_compiles()), (1, 1));
}

#[test]
fn jit_inside_jit_is_inlined() {
    let inner = jit(|x: Tensor| x.sin());
    let outer = jit(|x: Tensor| -> Result<Tensor> { Ok(inner.apply(x)? * 2.0) });
    let x = arange(4);
    for _ in 0..2 {
        let want = (Tensor::from(&x).sin() * 2.0).to_array().unwrap();
        assert_same(&outer.call(&x).unwrap(), &want);
    }
    assert_eq!((inner.num_traces(), inner.num_compiles(), outer.num_compiles()), (1, 0, 1));
    // `apply` on data runs the native code and gives concrete tensors; in a trace it records.
    assert!(inner.apply(&x).unwrap().is_concrete());
    let ir = make_ir(|x: Tensor| inner.apply(x), &x).unwrap();
    assert!(ir.to_string().contains("sin"), "{ir}");
    assert_eq!((inner.num_traces(), inner.num_compiles()), (1, 1));
}

fn assert_send_sync<T: Send + Sync>(_: &T) {}

#[test]
fn one_jit_from_four_threads() {
    let w = TrainVar::new(Array::from(vec![1.0f32, -2.0, 0.5]));
    let loss = |x: Tensor| (&x * w.value()).tanh().sum();
    let g = jit(grad(loss).grad_vars(&w).argnums(0).return_value(true));
    assert_send_sync(&g);
    let input = |k: usize| Array::from(vec![k as f32 * 0.01, 1.0, -0.5]);
    let expected: Vec<_> = (0..200).map(|k| grad(loss).grad_vars(&w).argnums(0).call(input(k)).unwrap()).collect();
    g.call(input(0)).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (g, expected) = (&g, &expected);
            s.spawn(move || {
                for k in (t..200).step_by(4) {
                    let r = g.call(input(k)).unwrap();
                    assert_same_tree(&r.grads(), &expected[k].grads());
                }
            });
        }
    });
    assert_eq!((g.num_traces(), g.num_compiles()), (1, 1));
}

#[test]
fn kernel_threads_do_not_change_results() {
    let f = |x: Tensor| {
        let y = (&x * 0.001).sin() * &x;
        (y.sum(), y.exp().mean())
    };
    let x = arange(100_003);
    let one: Jit<_, _> = jit(f).threads(1);
    let (s1, m1) = one.call(&x).unwrap();
    for threads in [2, 4] {
        let (s, m) = jit(f).threads(threads).call(&x).unwrap();
        assert!(s.as_host().bit_eq(s1.as_host()) && m.as_host().bit_eq(m1.as_host()), "{threads} threads");
    }
    let (s, _) = jit(f).call(&x).unwrap();
    assert!(s.as_host().bit_eq(s1.as_host()), "the shared pool");
}

#[test]
fn dumps_give_every_stage() {
    const CODEGEN: [&str; 6] = ["ir", "simplified", "fusion", "clif", "clif-opt", "asm"];
    let (z, v) = (Array::full(0.5, [10]), arange(10));
    let f = |z: Tensor, v: Tensor| (z * v).tanh().mean();
    let g = jit(grad(f).argnums([0, 1])).dumps(true);
    let compiled = g.compile((&z, &v)).unwrap();
    let names: Vec<&str> = compiled.stages().iter().map(|(n, _)| *n).collect();
    assert_eq!(names, [&["traced", "grad"][..], &CODEGEN].concat());
    assert!(compiled.stages().iter().all(|(_, text)| !text.is_empty()));
    assert!(compiled.stage("traced").unwrap().contains("tanh"));
    assert!(compiled.stage("asm").is_some() && compiled.stage("nothing").is_none());
    g.call((&z, &v)).unwrap();
    assert_eq!(g.num_compiles(), 1, "compile() and call() share the cache");
    // Grad of grad records both differentiations; a plain function only codegen's stages.
    let d2 = jit(grad(grad(|x: Tensor| x.powi(3)))).dumps(true).compile(1.0f32).unwrap();
    let names: Vec<&str> = d2.stages().iter().map(|(n, _)| *n).collect();
    assert_eq!(names[..4], ["traced", "grad", "traced-2", "grad-2"]);
    let plain = jit(f).dumps(true).compile((&z, &v)).unwrap();
    assert_eq!(plain.stages().iter().map(|(n, _)| *n).collect::<Vec<_>>(), CODEGEN);
    // Without the option the stages before codegen are not recorded and codegen's are empty.
    let quiet = jit(grad(f)).compile((&z, &v)).unwrap();
    assert!(quiet.stages().iter().all(|(n, text)| CODEGEN.contains(n) && text.is_empty()));
}
