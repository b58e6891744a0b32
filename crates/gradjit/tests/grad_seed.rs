//! The seed's example (BrainPy's `grad` documentation): every return structure of its table,
//! with values, and every form of `grad_vars`, each call run both interpreted and compiled
//! (`jit_common`).
//!
//! `Example` holds a trainable `x = zeros(1)` and a constant `y`; `f(z, v) = mean(tanh(z*v +
//! x*sum(y)))`, called at `z = 0.5*ones(10)`, `v = 0.1*arange(10)`. With `t2 = tanh(z*v)`
//! (x is 0): loss = mean(t2) = 0.217034, dz = (1-t2²)v/10, dv = (1-t2²)z/10,
//! dx = mean(1-t2²)·sum(y) (shape (1,)).

mod jit_common;

use gradjit::{assert_allclose, Argnums, Array, Call, GradResult, Module, ModuleName, Tensor, TrainVar, Tree, Var};
use jit_common::{grad, Both};
use std::collections::BTreeMap;

#[derive(Module)]
struct Example {
    name: ModuleName,
    x: TrainVar,
    /// Never used by the loss: its gradient is zero.
    w: TrainVar,
    y: Array,
}

impl Example {
    fn new() -> Example {
        let y = Array::from(vec![0.25f32, 0.5, 0.125, 0.75, 0.375, 0.625, 0.0625, 0.875, 0.3125, 0.4375]);
        Example {
            name: ModuleName::exact("Example0"),
            x: TrainVar::new(Array::zeros([1])),
            w: TrainVar::new(Array::ones([2])),
            y,
        }
    }

    /// `(t1, t2)`: the seed's intermediate values.
    fn parts(&self, z: Tensor, v: Tensor) -> (Tensor, Tensor) {
        let t1 = self.x.value() * Tensor::from(&self.y).sum();
        let t2 = (z * v + &t1).tanh();
        (t1, t2)
    }

    /// The seed's `with_aux`: the loss and `(t1, t2)`.
    fn with_aux(&self, z: Tensor, v: Tensor) -> (Tensor, (Tensor, Tensor)) {
        let (t1, t2) = self.parts(z, v);
        (t2.mean(), (t1, t2))
    }
}

impl Call<(Tensor, Tensor)> for Example {
    type Out = Tensor;
    fn call(&self, (z, v): (Tensor, Tensor)) -> Tensor {
        self.parts(z, v).1.mean()
    }
}

fn inputs() -> (Array, Array) {
    let v = (Tensor::from(Array::arange(10)) * 0.1).to_array().unwrap();
    (Array::full(0.5, [10]), v)
}

/// The expected values, computed in f64 from the closed forms.
struct Expected {
    loss: Array,
    dz: Array,
    dv: Array,
    dx: Array,
    t1: Array,
    t2: Array,
}

fn expected(f: &Example) -> Expected {
    let (z, v) = inputs();
    let (z, v) = (z.to_f64_vec(), v.to_f64_vec());
    let t2: Vec<f64> = z.iter().zip(&v).map(|(z, v)| (z * v).tanh()).collect();
    let slope: Vec<f64> = t2.iter().map(|t| 1.0 - t * t).collect();
    let n = t2.len() as f64;
    let sum_y: f64 = f.y.to_f64_vec().iter().sum();
    let f32s = |xs: Vec<f64>| Array::from(xs.into_iter().map(|x| x as f32).collect::<Vec<_>>());
    Expected {
        loss: Array::from(t2.iter().sum::<f64>() as f32 / n as f32),
        dz: f32s(slope.iter().zip(&v).map(|(s, v)| s * v / n).collect()),
        dv: f32s(slope.iter().zip(&z).map(|(s, z)| s * z / n).collect()),
        dx: f32s(vec![slope.iter().sum::<f64>() / n * sum_y]),
        t1: Array::zeros([1]),
        t2: f32s(t2),
    }
}

fn close(actual: &Array, desired: &Array) {
    assert_eq!(actual.shape(), desired.shape(), "{actual} vs {desired}");
    assert_allclose(actual, desired, 1e-5, 1e-7);
}

#[test]
fn the_seed_values() {
    let f = Example::new();
    let e = expected(&f);
    assert!((e.loss.item::<f32>().unwrap() - 0.217034).abs() < 1e-6);
    assert_allclose(
        &e.dz,
        &Array::from(vec![
            0.0f32, 0.009975, 0.019801, 0.029335, 0.038442, 0.047001, 0.054908, 0.06208, 0.068451, 0.07398,
        ]),
        0.0,
        1e-6,
    );
    assert_allclose(
        &e.dv,
        &Array::from(vec![
            0.05f32, 0.049875, 0.049503, 0.048892, 0.048052, 0.047001, 0.045757, 0.044343, 0.042782, 0.0411,
        ]),
        0.0,
        1e-6,
    );
    let (z, v) = inputs();
    let r = grad(&f).grad_vars(&f.x).argnums([0, 1]).return_value(true).call((&z, &v)).unwrap();
    close(r.var_grad(&f.x).unwrap(), &e.dx);
    close(r.arg_grad(0).unwrap(), &e.dz);
    close(r.arg_grad(1).unwrap(), &e.dv);
    close(r.value(), &e.loss);
    assert_eq!(f.x.get().to_vec::<f32>().unwrap(), [0.0], "grad never changes a grad var by itself");
}

/// Which leaf of the expected values a gradient is.
#[derive(Clone, Copy, Debug)]
enum Leaf {
    Dz,
    Dv,
    Dx,
}

/// How a row sets `argnums`.
#[derive(Clone, Copy, Debug)]
enum Nums {
    Default,
    Int(i64),
    Seq(&'static [i64]),
}

/// One row of the seed's table: the options, the structures of the result for (neither flag,
/// has_aux, return_value, both), and the gradients' leaves in order.
struct Row {
    grad_x: bool,
    argnums: Nums,
    structures: [&'static str; 4],
    leaves: &'static [Leaf],
}

/// The structures for a row whose gradients have structure `G` are `G`, `(G, (*, *))`,
/// `(G, *)` and `(G, *, (*, *))`: the aux is `(t1, t2)`.
const TABLE: &[Row] = &[
    Row {
        grad_x: false,
        argnums: Nums::Default,
        structures: ["*", "(*, (*, *))", "(*, *)", "(*, *, (*, *))"],
        leaves: &[Leaf::Dz],
    },
    Row {
        grad_x: false,
        argnums: Nums::Int(1),
        structures: ["*", "(*, (*, *))", "(*, *)", "(*, *, (*, *))"],
        leaves: &[Leaf::Dv],
    },
    Row {
        grad_x: false,
        argnums: Nums::Seq(&[0]),
        structures: ["(*,)", "((*,), (*, *))", "((*,), *)", "((*,), *, (*, *))"],
        leaves: &[Leaf::Dz],
    },
    Row {
        grad_x: false,
        argnums: Nums::Seq(&[0, 1]),
        structures: ["(*, *)", "((*, *), (*, *))", "((*, *), *)", "((*, *), *, (*, *))"],
        leaves: &[Leaf::Dz, Leaf::Dv],
    },
    Row {
        grad_x: false,
        argnums: Nums::Seq(&[1, 0]),
        structures: ["(*, *)", "((*, *), (*, *))", "((*, *), *)", "((*, *), *, (*, *))"],
        leaves: &[Leaf::Dv, Leaf::Dz],
    },
    Row {
        grad_x: true,
        argnums: Nums::Default,
        structures: ["*", "(*, (*, *))", "(*, *)", "(*, *, (*, *))"],
        leaves: &[Leaf::Dx],
    },
    Row {
        grad_x: true,
        argnums: Nums::Int(0),
        structures: ["(*, *)", "((*, *), (*, *))", "((*, *), *)", "((*, *), *, (*, *))"],
        leaves: &[Leaf::Dx, Leaf::Dz],
    },
    Row {
        grad_x: true,
        argnums: Nums::Seq(&[0]),
        structures: ["(*, (*,))", "((*, (*,)), (*, *))", "((*, (*,)), *)", "((*, (*,)), *, (*, *))"],
        leaves: &[Leaf::Dx, Leaf::Dz],
    },
    Row {
        grad_x: true,
        argnums: Nums::Seq(&[0, 1]),
        structures: ["(*, (*, *))", "((*, (*, *)), (*, *))", "((*, (*, *)), *)", "((*, (*, *)), *, (*, *))"],
        leaves: &[Leaf::Dx, Leaf::Dz, Leaf::Dv],
    },
];

fn configure<F: gradjit::TraceFn<P> + Clone, P>(
    g: Both<F, P>,
    f: &Example,
    row: &Row,
    aux: bool,
    rv: bool,
) -> Both<F, P> {
    let g = if row.grad_x { g.grad_vars(&f.x) } else { g };
    let g = match row.argnums {
        Nums::Default => g,
        Nums::Int(a) => g.argnums(a),
        Nums::Seq(s) => g.argnums(s),
    };
    g.has_aux(aux).return_value(rv)
}

/// Checks a result against its row: BrainPy's structure, the leaves in order, and the accessors.
fn check(r: &GradResult, row: &Row, column: usize, aux: bool, rv: bool, e: &Expected, f: &Example) {
    let what = format!("grad_x={} argnums={:?} has_aux={aux} return_value={rv}", row.grad_x, row.argnums);
    let tree = r.tree();
    assert_eq!(tree.structure().to_string(), row.structures[column], "{what}");
    let mut want: Vec<&Array> = row
        .leaves
        .iter()
        .map(|l| match l {
            Leaf::Dz => &e.dz,
            Leaf::Dv => &e.dv,
            Leaf::Dx => &e.dx,
        })
        .collect();
    if rv {
        want.push(&e.loss);
    }
    if aux {
        want.extend([&e.t1, &e.t2]);
    }
    let got = tree.leaves();
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.into_iter().zip(want) {
        close(g, w);
    }
    // The accessors agree with the tree.
    close(r.value(), &e.loss);
    assert_eq!(r.aux().is_some(), aux, "{what}");
    assert_eq!(r.var_grads().is_some(), row.grad_x, "{what}");
    if row.grad_x {
        close(r.var_grad(&f.x).unwrap(), &e.dx);
        assert!(r.var_grads().unwrap().is_leaf(), "one variable gives a bare array");
    }
    let arg_leaves: Vec<&Array> = (0..3).map_while(|k| r.arg_grad(k)).collect();
    let expected_args = row.leaves.iter().filter(|l| !matches!(l, Leaf::Dx)).count();
    assert_eq!(arg_leaves.len(), expected_args, "{what}");
}

#[test]
fn every_return_structure_of_the_seed_table() {
    let f = Example::new();
    let e = expected(&f);
    let (z, v) = inputs();
    for row in TABLE {
        for (column, (aux, rv)) in [(false, false), (true, false), (false, true), (true, true)].into_iter().enumerate()
        {
            let r = if aux {
                configure(grad(|z: Tensor, v: Tensor| f.with_aux(z, v)), &f, row, aux, rv).call((&z, &v))
            } else {
                configure(grad(&f), &f, row, aux, rv).call((&z, &v))
            };
            check(&r.unwrap(), row, column, aux, rv, &e, &f);
        }
    }
}

#[test]
fn argnums_order_is_kept() {
    // argnums=[1, 0] on 2a + 3b gives (3, 2).
    let r = grad(|a: Tensor, b: Tensor| a * 2.0 + b * 3.0).argnums([1, 0]).call((1.0f32, 1.0f32)).unwrap();
    assert_eq!(r.tree().to_string(), "(3.0, 2.0)");
    assert_eq!(r.arg_grad(0).unwrap().item::<f32>().unwrap(), 3.0);
    // An unused argument gets zeros.
    let r = grad(|a: Tensor, _b: Tensor| a * 2.0).argnums([0, 1]).call((1.0f32, 5.0f32)).unwrap();
    assert_eq!(r.tree().to_string(), "(2.0, 0.0)");
}

/// Each form of `grad_vars`, on a module with a used (`x`) and an unused (`w`) variable.
#[test]
fn every_form_of_grad_vars() {
    let f = Example::new();
    let e = expected(&f);
    let (z, v) = inputs();
    let zeros = Array::zeros([2]);
    let run = |g: Both<&Example, _>| g.call((&z, &v)).unwrap().var_grads().unwrap().clone();
    let check = |t: &Tree<Array>, structure: &str, want: &[&Array]| {
        assert_eq!(t.structure().to_string(), structure);
        t.leaves().into_iter().zip(want).for_each(|(g, w)| close(g, w));
    };

    check(&run(grad(&f).grad_vars(&f.x)), "*", &[&e.dx]);
    check(&run(grad(&f).grad_vars(f.x.var())), "*", &[&e.dx]);
    check(&run(grad(&f).grad_vars(vec![&f.x, &f.w])), "[*, *]", &[&e.dx, &zeros]);
    check(&run(grad(&f).grad_vars([&f.x])), "[*]", &[&e.dx]);
    check(&run(grad(&f).grad_vars((&f.x,))), "(*,)", &[&e.dx]);
    check(&run(grad(&f).grad_vars((&f.w, &f.x))), "(*, *)", &[&zeros, &e.dx]);
    // A map: keys sorted.
    let map = BTreeMap::from([("b", &f.x), ("a", &f.w)]);
    check(&run(grad(&f).grad_vars(map)), "{'a': *, 'b': *}", &[&zeros, &e.dx]);
    // Nested containers.
    let nested: Tree<Var> = Tree::dict([
        ("g", Tree::list([Tree::leaf(Var::from(&f.x))])),
        ("h", Tree::tuple([Tree::leaf(Var::from(&f.w))])),
    ]);
    check(&run(grad(&f).grad_vars(nested)), "{'g': [*], 'h': (*,)}", &[&e.dx, &zeros]);
    // A module's variables: a dict keyed by the collection's names.
    let t = run(grad(&f).grad_vars(f.vars().unwrap()));
    check(&t, "{'Example0.w': *, 'Example0.x': *}", &[&zeros, &e.dx]);
    let train_vars = f.train_vars().unwrap();
    let t = run(grad(&f).grad_vars(&train_vars));
    check(&t, "{'Example0.w': *, 'Example0.x': *}", &[&zeros, &e.dx]);
    assert_eq!(train_vars.len(), 2);
    // A variable listed twice gets its gradient twice.
    check(&run(grad(&f).grad_vars(vec![&f.x, &f.x])), "[*, *]", &[&e.dx, &e.dx]);
}

#[test]
fn empty_grad_vars_are_no_grad_vars() {
    let f = Example::new();
    let (z, v) = inputs();
    let none: Vec<Var> = Vec::new();
    let r = grad(&f).grad_vars(none).argnums([0, 1]).call((&z, &v)).unwrap();
    assert_eq!(r.tree().structure().to_string(), "(*, *)", "no (var_grads, arg_grads) pair");
    assert!(r.var_grads().is_none());
    let r = grad(&f).grad_vars(BTreeMap::<String, Var>::new()).call((&z, &v)).unwrap();
    assert_eq!(r.tree().structure().to_string(), "*", "argnums defaults to 0");
    close(r.arg_grad(0).unwrap(), &expected(&f).dz);
    // With grad vars, an empty argnums gives (var_grads, ()), as in BrainPy.
    let r = grad(&f).grad_vars(&f.x).argnums(Argnums::Seq(vec![])).call((&z, &v)).unwrap();
    assert_eq!(r.tree().structure().to_string(), "(*, ())");
}

#[test]
fn grad_of_tanh_at_0_2() {
    let r = grad(|x: Tensor| x.tanh()).call(0.2f32).unwrap();
    let g = r.arg_grad(0).unwrap();
    assert_eq!((g.dtype(), g.shape()), (gradjit::DType::F32, &[][..]));
    assert_eq!(format!("{:.6}", g.item::<f32>().unwrap()), "0.961043");
    // Rust's types are kept: an f64 argument gives an f64 gradient.
    let r = grad(|x: Tensor| x.tanh()).call(0.2f64).unwrap();
    assert!((r.arg_grad(0).unwrap().item::<f64>().unwrap() - 0.9610429829661166).abs() < 1e-15);
}

#[test]
fn tree_arguments_get_tree_gradients() {
    let params: Tree<Array> = Tree::dict([
        ("w", Tree::leaf(Array::from([[1.0f32, 2.0], [3.0, 4.0]]))),
        ("b", Tree::list([Tree::leaf(Array::from(vec![0.5f32, -0.5]))])),
    ]);
    let loss = |p: Tree<Tensor>, x: Tensor| {
        let (w, b) = (p["w"].as_leaf().unwrap(), p["b"][0].as_leaf().unwrap());
        (x.matmul(w) + b).sum()
    };
    let x = Array::from(vec![1.0f32, 10.0]);
    let r = grad(loss).call((&params, &x)).unwrap();
    let g = r.arg_grad_tree(0).unwrap();
    assert_eq!(g.structure().to_string(), "{'b': [*], 'w': *}");
    // d/dw sum(x·w + b) = x ⊗ 1; d/db = 1.
    assert_eq!(g["w"].as_leaf().unwrap().to_vec::<f32>().unwrap(), [1.0, 1.0, 10.0, 10.0]);
    assert_eq!(g["b"][0].as_leaf().unwrap().to_vec::<f32>().unwrap(), [1.0, 1.0]);
    assert!(r.arg_grad(0).is_none(), "a tree argument's gradient is not a single array");
}
