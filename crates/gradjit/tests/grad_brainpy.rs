//! BrainPy's own tests of `grad` (`brainpy/_src/math/object_transform/tests/test_autograd.py`,
//! 2.4–2.6, and `autograd_test.py`, 2.8), ported: pure functions, objects with trainable
//! variables, argnums with and without variables, `has_aux`, `return_value`, nesting, the cache,
//! and a gradient through a conditional (`test_controls.py`). Each call runs both interpreted and
//! compiled (`jit_common`), and `bm.jit(bm.grad(f))` is a real compilation.

mod jit_common;

use gradjit::random::Key;
use gradjit::{jit, make_ir, select, Array, Call, DType, Error, GradError, Module, ModuleName, Tensor, TrainVar};
use jit_common::grad;
use std::cell::Cell;
use std::collections::BTreeMap;

fn ones(n: usize) -> Array {
    Array::ones([n])
}

/// `a = ones(10)`, `b = randn(10)`, `c = uniform(10)`.
fn abc() -> (Array, Array, Array) {
    let [k1, k2] = Key::new(3).split2();
    let b = k1.normal(0.0, 1.0, [10], DType::F32).to_array().unwrap();
    let c = k2.uniform(0.0, 1.0, [10], DType::F32).to_array().unwrap();
    (ones(10), b, c)
}

fn all_equal(a: &Array, value: f32) -> bool {
    a.to_vec::<f32>().unwrap().iter().all(|&x| x == value)
}

fn sum3(a: Tensor, b: Tensor, c: Tensor) -> Tensor {
    (a + b + c).sum()
}

fn sin100() -> Tensor {
    Tensor::from(100.0f32).sin()
}

fn exp01() -> Tensor {
    Tensor::from(0.1f32).exp()
}

fn sum3_aux(a: Tensor, b: Tensor, c: Tensor) -> (Tensor, (Tensor, Tensor)) {
    ((a + b + c).sum(), (sin100(), exp01()))
}

fn check_aux(aux: &gradjit::Tree<Array>) {
    assert_eq!(aux[0].as_leaf().unwrap().item::<f32>().unwrap(), 100.0f32.sin());
    assert_eq!(aux[1].as_leaf().unwrap().item::<f32>().unwrap(), 0.1f32.exp());
}

#[test]
fn test_grad_pure_func_1() {
    let (a, b, c) = abc();
    let r = grad(sum3).argnums([0, 1, 2]).call((&a, &b, &c)).unwrap();
    for k in 0..3 {
        assert!(all_equal(r.arg_grad(k).unwrap(), 1.0));
    }
}

#[test]
fn test_grad_pure_func_2() {
    let (a, b, c) = abc();
    let r = grad(sum3).call((&a, &b, &c)).unwrap();
    assert!(r.grads().is_leaf(), "only a's gradient, not a tuple");
    assert!(all_equal(r.arg_grad(0).unwrap(), 1.0));
}

#[test]
fn test_grad_pure_func_aux1() {
    let (a, b, c) = abc();
    let e = grad(sum3_aux).argnums([0, 1, 2]).call((&a, &b, &c)).unwrap_err();
    assert!(matches!(e, Error::Grad { error: GradError::StructuredOutput { .. }, .. }), "{e}");
}

#[test]
fn test_grad_pure_func_aux2() {
    let (a, b, c) = abc();
    let r = grad(sum3_aux).argnums([0, 1, 2]).has_aux(true).call((&a, &b, &c)).unwrap();
    let (grads, aux) = (r.arg_grads().unwrap(), r.aux().unwrap());
    assert!(grads.leaves().iter().all(|g| all_equal(g, 1.0)));
    check_aux(aux);
}

#[test]
fn test_grad_pure_func_return1() {
    let (a, b, c) = abc();
    let r = grad(sum3).argnums([0, 1, 2]).return_value(true).call((&a, &b, &c)).unwrap();
    assert!(r.arg_grads().unwrap().leaves().iter().all(|g| all_equal(g, 1.0)));
    let want = sum3(Tensor::from(&a), Tensor::from(&b), Tensor::from(&c)).to_array().unwrap();
    assert_eq!(r.value(), &want);
    assert_eq!(r.tree()[1].as_leaf(), Some(&want));
}

#[test]
fn test_grad_func_return_aux1() {
    let (a, b, c) = abc();
    let r = grad(sum3_aux).argnums([0, 1, 2]).has_aux(true).return_value(true).call((&a, &b, &c)).unwrap();
    let tree = r.tree();
    assert_eq!(tree.structure().to_string(), "((*, *, *), *, (*, *))");
    assert!(tree[0].leaves().iter().all(|g| all_equal(g, 1.0)));
    let want = sum3(Tensor::from(&a), Tensor::from(&b), Tensor::from(&c)).to_array().unwrap();
    assert_eq!(tree[1].as_leaf(), Some(&want));
    check_aux(&tree[2]);
}

/// `bm.jit(bm.grad(call))`: the gradient traced as a whole into one function and compiled; traced
/// into IR, that function runs on the interpreter too.
#[test]
fn test_grad_jit() {
    let (a, b, c) = abc();
    let g = jit(gradjit::grad(sum3));
    for _ in 0..2 {
        let r = g.call((&a, &b, &c)).unwrap();
        assert!(r.grads().is_leaf() && all_equal(r.arg_grad(0).unwrap(), 1.0));
    }
    assert_eq!((g.num_traces(), g.num_compiles()), (1, 1));
    let ir = make_ir(gradjit::grad(sum3), (&a, &b, &c)).unwrap();
    let out = ir.call(&[Tensor::from(&a), Tensor::from(&b), Tensor::from(&c)]).unwrap();
    assert_eq!(out.len(), 1);
    assert!(all_equal(&out[0].to_array().unwrap(), 1.0));
}

/// BrainPy's `Test` object: three trainable variables and `__call__() = sum(a + b + c)`.
#[derive(Module)]
struct Test {
    name: ModuleName,
    a: TrainVar,
    b: TrainVar,
    c: TrainVar,
}

impl Test {
    fn new() -> Test {
        let (a, b, c) = abc();
        Test { name: ModuleName::exact("Test0"), a: TrainVar::new(a), b: TrainVar::new(b), c: TrainVar::new(c) }
    }
    fn sum(&self) -> Tensor {
        (self.a.value() + self.b.value() + self.c.value()).sum()
    }
    fn value(&self) -> Array {
        self.sum().to_array().unwrap()
    }
}

impl Call<()> for Test {
    type Out = Tensor;
    fn call(&self, (): ()) -> Tensor {
        self.sum()
    }
}

/// `__call__(d) = sum(a + b + c + 2d)`.
#[derive(Module)]
struct TestArg {
    name: ModuleName,
    t: Test,
}

impl Call<(Tensor,)> for TestArg {
    type Out = Tensor;
    fn call(&self, (d,): (Tensor,)) -> Tensor {
        (self.t.a.value() + self.t.b.value() + self.t.c.value() + d * 2.0).sum()
    }
}

impl TestArg {
    fn new() -> TestArg {
        TestArg { name: ModuleName::exact("TestArg0"), t: Test::new() }
    }
    fn with_aux(&self, d: Tensor) -> (Tensor, (Tensor, Tensor)) {
        (self.call((d,)), (sin100(), exp01()))
    }
}

#[test]
fn test_grad_ob1() {
    let t = Test::new();
    let map = BTreeMap::from([("a", &t.a), ("b", &t.b), ("c", &t.c)]);
    let r = grad(&t).grad_vars(map).call(()).unwrap();
    let grads = r.var_grads().unwrap();
    assert_eq!(grads.structure().to_string(), "{'a': *, 'b': *, 'c': *}");
    assert!(grads.leaves().iter().all(|g| all_equal(g, 1.0)));

    let r = grad(&t).grad_vars(vec![&t.a, &t.b]).call(()).unwrap();
    assert_eq!(r.grads().structure().to_string(), "[*, *]");
    assert!(r.grads().leaves().iter().all(|g| all_equal(g, 1.0)));

    let r = grad(&t).grad_vars(&t.a).call(()).unwrap();
    assert!(r.grads().is_leaf() && all_equal(r.var_grad(&t.a).unwrap(), 1.0));
}

#[test]
fn test_grad_ob_aux() {
    let t = Test::new();
    let with_aux = || (t.sum(), (sin100(), exp01()));
    let r = grad(with_aux).grad_vars(vec![&t.a, &t.b]).has_aux(true).call(()).unwrap();
    assert_eq!(r.tree().structure().to_string(), "([*, *], (*, *))");
    assert!(r.var_grads().unwrap().leaves().iter().all(|g| all_equal(g, 1.0)));
    check_aux(r.aux().unwrap());

    let r = grad(with_aux).grad_vars(&t.a).has_aux(true).call(()).unwrap();
    assert!(all_equal(r.tree()[0].as_leaf().unwrap(), 1.0));
    check_aux(&r.tree()[1]);
}

#[test]
fn test_grad_ob_return() {
    let t = Test::new();
    let r = grad(&t).grad_vars(vec![&t.a, &t.b]).return_value(true).call(()).unwrap();
    assert!(r.var_grads().unwrap().leaves().iter().all(|g| all_equal(g, 1.0)));
    assert_eq!(r.value(), &t.value());

    let r = grad(&t).grad_vars(&t.a).return_value(true).call(()).unwrap();
    let tree = r.tree();
    assert!(all_equal(tree[0].as_leaf().unwrap(), 1.0));
    assert_eq!(tree[1].as_leaf(), Some(&t.value()));
}

#[test]
fn test_grad_ob_aux_return() {
    let t = Test::new();
    let with_aux = || (t.sum(), (sin100(), exp01()));
    for r in [
        grad(with_aux).grad_vars(vec![&t.a, &t.b]).has_aux(true).return_value(true).call(()).unwrap(),
        grad(with_aux).grad_vars(&t.a).has_aux(true).return_value(true).call(()).unwrap(),
    ] {
        let tree = r.tree();
        assert!(tree[0].leaves().iter().all(|g| all_equal(g, 1.0)));
        assert_eq!(tree[1].as_leaf(), Some(&t.value()));
        check_aux(&tree[2]);
    }
}

#[test]
fn test_grad_ob_argnums() {
    let t = TestArg::new();
    let d = Array::from(vec![1.0f32; 10]);
    let r = grad(&t).grad_vars(t.vars().unwrap()).argnums(0).call(&d).unwrap();
    let (vars, args) = (r.var_grads().unwrap(), r.arg_grads().unwrap());
    assert_eq!(vars.structure().to_string(), "{'Test0.a': *, 'Test0.b': *, 'Test0.c': *}");
    assert!(vars.leaves().iter().all(|g| all_equal(g, 1.0)));
    assert!(all_equal(args.as_leaf().unwrap(), 2.0));

    let r = grad(&t).grad_vars(t.vars().unwrap()).argnums([0]).call(&d).unwrap();
    assert!(all_equal(r.arg_grads().unwrap()[0].as_leaf().unwrap(), 2.0));

    let r = grad(&t).argnums(0).call(&d).unwrap();
    assert!(r.var_grads().is_none() && all_equal(r.grads().as_leaf().unwrap(), 2.0));

    let r = grad(&t).argnums([0]).call(&d).unwrap();
    assert!(all_equal(r.grads()[0].as_leaf().unwrap(), 2.0));
}

/// The four variants of `test_grad_ob_argnums`, each with `has_aux` and/or `return_value`.
#[test]
fn test_grad_ob_argnums_aux_return() {
    let t = TestArg::new();
    let d = Array::from(vec![1.0f32; 10]);
    let loss = t.call((Tensor::from(&d),)).to_array().unwrap();
    for (aux, rv) in [(true, false), (false, true), (true, true)] {
        let base = || grad(|d: Tensor| t.with_aux(d)).has_aux(true);
        let plain = || grad(&t);
        let variants = [
            (true, Some(false)),  // grad_vars = t.vars(), argnums = 0
            (true, Some(true)),   // grad_vars = t.vars(), argnums = [0]
            (false, Some(false)), // argnums = 0
            (false, Some(true)),  // argnums = [0]
        ];
        for (with_vars, seq) in variants {
            let r = if aux {
                let g = base().return_value(rv);
                let g = if with_vars { g.grad_vars(t.vars().unwrap()) } else { g };
                if seq == Some(true) { g.argnums([0]) } else { g.argnums(0) }.call(&d).unwrap()
            } else {
                let g = plain().return_value(rv);
                let g = if with_vars { g.grad_vars(t.vars().unwrap()) } else { g };
                if seq == Some(true) { g.argnums([0]) } else { g.argnums(0) }.call(&d).unwrap()
            };
            let tree = r.tree();
            // ((var, arg), loss, aux), ((var, arg), aux), ((var, arg), loss) or (arg, ...).
            let grads = &tree[0];
            let arg = if with_vars {
                assert!(grads[0].leaves().iter().all(|g| all_equal(g, 1.0)));
                &grads[1]
            } else {
                grads
            };
            let arg = if seq == Some(true) { &arg[0] } else { arg };
            assert!(all_equal(arg.as_leaf().unwrap(), 2.0));
            if rv {
                assert_eq!(tree[1].as_leaf(), Some(&loss));
            }
            if aux {
                check_aux(&tree[if rv { 2 } else { 1 }]);
            }
        }
    }
}

/// `test_print_info1/2` (values only): `f2 = grad(a + b, argnums=0)` is the constant 1, so
/// `f1 = grad(f2(a, 1))` is 0.
#[test]
fn test_nested_grad_of_a_constant_gradient() {
    let f2 = gradjit::grad(|a: Tensor, b: Tensor| a + b).argnums(0);
    let f1 = grad(|a: Tensor| f2.apply((a, 1.0f32)));
    assert_eq!(f1.call(1.0f32).unwrap().arg_grad(0).unwrap().item::<f32>().unwrap(), 0.0);
    // f2 was traced inside the interpreted trace of f1 and reused inside the jitted one.
    assert_eq!((f1.jitted().num_traces(), f2.num_traces()), (1, 1));
}

/// `test_cache1`, with BrainPy 2.8's semantics: `f` runs once per argument signature (2.6 ran
/// it twice on the first call, to discover variables), by `grad` and by `jit(grad)`. Not through
/// the both-ways helper, whose interpreted half would trace again.
#[test]
fn test_cache1() {
    plain_and_jitted!(wrap => {
        let runs = Cell::new(0);
        let f = |a: Tensor, b: Tensor| {
            runs.set(runs.get() + 1);
            a * b
        };
        let g = wrap(gradjit::grad(f));
        assert_eq!(g.call((1.0f32, 2.0f32)).unwrap().arg_grad(0).unwrap().item::<f32>().unwrap(), 2.0);
        assert_eq!(runs.get(), 1);
        assert_eq!(g.call((3.0f32, 4.0f32)).unwrap().arg_grad(0).unwrap().item::<f32>().unwrap(), 4.0);
        assert_eq!(runs.get(), 1, "the same signature does not trace again");
        g.call((Array::ones([2]).reshape([2]).unwrap(), Array::ones([2]))).unwrap_err();
        assert_eq!(runs.get(), 2, "a new signature traces again (here to find a non-scalar loss)");
        assert_eq!((g.num_traces(), g.num_cached()), (2, 1));
    });
}

/// `test_controls.py`: `F(x) = x if x >= 10 else x²` through a select.
#[test]
fn test_grad_through_a_conditional() {
    let f = |x: Tensor| select(&x.ge(10.0), &x, x.square());
    let g = grad(f);
    assert_eq!(g.call(9.0f32).unwrap().arg_grad(0).unwrap().item::<f32>().unwrap(), 18.0);
    assert_eq!(g.call(11.0f32).unwrap().arg_grad(0).unwrap().item::<f32>().unwrap(), 1.0);
}
