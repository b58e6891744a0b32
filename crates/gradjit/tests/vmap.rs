//! `vmap` through the user API: per-example gradients (`vmap(grad f)`), compiled once under
//! `jit`; `grad` through a mapped function; `reduce_axes`; collectives and nested names;
//! variables; errors.

use gradjit::{grad, jit, pmean, psum, vmap, Array, Error, Tensor, Var};

/// The squared error of a linear model on one example.
fn loss(w: Tensor, b: Tensor, x: Tensor, y: Tensor) -> Tensor {
    (&(&x.dot(&w) + &b) - &y).powi(2)
}

fn data() -> (Array, Array, Array, Array) {
    let w = Array::from(vec![0.5f64, -1.0, 2.0]);
    let b = Array::from(0.25f64);
    let xs = Array::from_vec([4, 3], vec![1.0f64, 0.0, 2.0, -1.0, 1.0, 0.5, 0.0, 3.0, -2.0, 1.5, 1.5, 1.5]).unwrap();
    let ys = Array::from(vec![1.0f64, -2.0, 0.5, 3.0]);
    (w, b, xs, ys)
}

/// The per-example gradients written out: `r = x·w + b - y`, `dw = 2 r x`, `db = 2 r`.
fn by_hand(w: &Array, b: &Array, xs: &Array, ys: &Array) -> (Vec<f64>, Vec<f64>) {
    let (w, b) = (w.to_vec::<f64>().unwrap(), b.item::<f64>().unwrap());
    let (xs, ys) = (xs.to_vec::<f64>().unwrap(), ys.to_vec::<f64>().unwrap());
    let (mut dw, mut db) = (Vec::new(), Vec::new());
    for (x, y) in xs.chunks(3).zip(ys) {
        let r = x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + b - y;
        dw.extend(x.iter().map(|xi| 2.0 * r * xi));
        db.push(2.0 * r);
    }
    (dw, db)
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + x.abs() + y.abs()), "{a:?} vs {b:?}");
    }
}

#[test]
fn vmap_of_grad_gives_per_example_gradients_interpreted_and_compiled() {
    let (w, b, xs, ys) = data();
    let (dw, db) = by_hand(&w, &b, &xs, &ys);
    let per_example = vmap(grad(loss).argnums([0, 1])).in_axes([None, None, Some(0), Some(0)]);
    let r = per_example.call((&w, &b, &xs, &ys)).unwrap();
    assert_eq!(r.arg_grad(0).unwrap().shape(), &[4, 3]);
    close(&r.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), &dw);
    close(&r.arg_grad(1).unwrap().to_vec::<f64>().unwrap(), &db);

    let compiled = jit(vmap(grad(loss).argnums([0, 1])).in_axes([None, None, Some(0), Some(0)]));
    for _ in 0..3 {
        let r = compiled.call((&w, &b, &xs, &ys)).unwrap();
        close(&r.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), &dw);
        close(&r.arg_grad(1).unwrap().to_vec::<f64>().unwrap(), &db);
    }
    assert_eq!(compiled.num_compiles(), 1, "jit(vmap(grad(f))) compiles once");
    assert_eq!(compiled.num_traces(), 1);
}

#[test]
fn grad_through_a_mapped_function_sums_the_examples() {
    let (w, b, xs, ys) = data();
    let (dw, db) = by_hand(&w, &b, &xs, &ys);
    let mapped = vmap(loss).in_axes([None, None, Some(0), Some(0)]);
    let total = |w: Tensor, b: Tensor, xs: Tensor, ys: Tensor| -> gradjit::Result<Tensor> {
        Ok(mapped.apply((&w, &b, &xs, &ys))?.sum())
    };
    let summed = |v: &[f64], k: usize| (0..k).map(|j| v.iter().skip(j).step_by(k).sum()).collect::<Vec<f64>>();
    for r in [grad(total).argnums([0, 1]).call((&w, &b, &xs, &ys)).unwrap(), {
        jit(grad(total).argnums([0, 1])).call((&w, &b, &xs, &ys)).unwrap()
    }] {
        close(&r.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), &summed(&dw, 3));
        close(&r.arg_grad(1).unwrap().to_vec::<f64>().unwrap(), &[db.iter().sum()]);
    }
}

#[test]
fn reduce_axes_sums_the_gradients_over_the_named_axis() {
    let (w, b, xs, ys) = data();
    let (dw, db) = by_hand(&w, &b, &xs, &ys);
    let total_w: Vec<f64> = (0..3).map(|j| dw.iter().skip(j).step_by(3).sum()).collect();
    // Every lane holds the total (out_axes 0) ...
    let g = grad(loss).argnums([0, 1]).reduce_axes(&["batch"]);
    let lanes = vmap(g).in_axes([None, None, Some(0), Some(0)]).axis_name("batch");
    let r = lanes.call((&w, &b, &xs, &ys)).unwrap();
    let per_lane = r.arg_grad(0).unwrap().to_vec::<f64>().unwrap();
    for lane in per_lane.chunks(3) {
        close(lane, &total_w);
    }
    // ... or it comes back once with out_axes None (leaves: the loss, then the gradients).
    let once = jit(vmap(grad(loss).argnums([0, 1]).reduce_axes(&["batch"]))
        .in_axes([None, None, Some(0), Some(0)])
        .out_axes([Some(0), None, None])
        .axis_name("batch"));
    let r = once.call((&w, &b, &xs, &ys)).unwrap();
    close(&r.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), &total_w);
    close(&r.arg_grad(1).unwrap().to_vec::<f64>().unwrap(), &[db.iter().sum()]);
    assert_eq!(r.value().shape(), &[4], "the loss stays per example");
    assert_eq!(once.num_compiles(), 1);
}

#[test]
fn reduce_axes_over_an_unbound_name_names_the_axes_in_scope() {
    let (w, b, xs, ys) = data();
    let g = grad(loss).reduce_axes(&["bacth"]);
    let e = vmap(g).in_axes([None, None, Some(0), Some(0)]).axis_name("batch").call((&w, &b, &xs, &ys)).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("names axis 'bacth', which no enclosing vmap binds: the axis names in scope are [\"batch\"]"),
        "{text}"
    );
}

#[test]
fn collectives_and_nested_names() {
    // Centre each row by the mean over rows (outer axis i) and scale by the sum over columns
    // (inner axis j).
    let f = |x: Tensor| &(&x - &pmean(&x, "i")) / &psum(&x, "j");
    let inner = vmap(f).axis_name("j");
    let outer = vmap(inner).axis_name("i");
    let x = Array::from_vec([2, 2], vec![1.0f64, 3.0, 5.0, 7.0]).unwrap();
    let out = outer.call(&x).unwrap().to_vec::<f64>().unwrap();
    // Column means (3, 5); row sums (4, 12).
    close(&out, &[(1.0 - 3.0) / 4.0, (3.0 - 5.0) / 4.0, (5.0 - 3.0) / 12.0, (7.0 - 5.0) / 12.0]);
    let compiled = jit(vmap(vmap(f).axis_name("j")).axis_name("i"));
    close(&compiled.call(&x).unwrap().to_vec::<f64>().unwrap(), &out);
    // A collective over a name no vmap binds is an error at the call.
    let e = vmap(|x: Tensor| psum(&x, "k")).axis_name("i").call(&x).unwrap_err().to_string();
    assert!(e.contains("psum over unbound axis name 'k': the axis names in scope are [\"i\"]"), "{e}");
}

#[test]
fn axes_move_and_outputs_can_be_shared() {
    let x = Array::from_vec([2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    // Map the columns (axis 1): each lane sees one column of 2; the result stacks at axis 1.
    let f =
        vmap(|c: Tensor| (c.exp(), psum(&c, "cols"))).in_axes([Some(1)]).out_axes([Some(1), None]).axis_name("cols");
    let (e, total) = f.call(&x).unwrap();
    assert_eq!(e.shape(), &[2, 3]);
    close(&e.to_vec::<f64>().unwrap(), &x.to_vec::<f64>().unwrap().iter().map(|v| v.exp()).collect::<Vec<_>>());
    close(&total.to_vec::<f64>().unwrap(), &[6.0, 15.0]);
}

#[test]
fn variables_are_shared_reads_and_cannot_be_written() {
    let scale = Var::new(Array::from(3.0f64));
    let xs = Array::from(vec![1.0f64, 2.0]);
    let read = vmap(|x: Tensor| &x * &scale.value());
    close(&read.call(&xs).unwrap().to_vec::<f64>().unwrap(), &[3.0, 6.0]);
    let counter = Var::new(Array::from(0.0f64));
    let write = vmap(|x: Tensor| -> gradjit::Result<Tensor> {
        counter.set(&(&counter.value() + 1.0))?;
        Ok(x)
    });
    let e = write.call(&xs).unwrap_err().to_string();
    assert!(e.contains("writes variable") && e.contains("inside vmap"), "{e}");
}

#[test]
fn sizes_must_agree_and_be_known() {
    let f = vmap(|a: Tensor, b: Tensor| &a + &b);
    let e = f.call((Array::from(vec![1.0f64, 2.0]), Array::from(vec![1.0f64, 2.0, 3.0]))).unwrap_err();
    assert!(matches!(e, Error::Op { .. }));
    let text = e.to_string();
    assert!(text.contains("disagree on the mapped size: argument 0 (f64[2]) has 2 along axis 0; argument 1"), "{text}");
    let none = vmap(|a: Tensor| a.exp()).in_axes([None]);
    let e = none.call(Array::from(1.0f64)).unwrap_err().to_string();
    assert!(e.contains("give the mapped size with .size(n)"), "{e}");
    let out = vmap(|a: Tensor| a.exp()).in_axes([None]).size(2).call(Array::from(0.0f64)).unwrap();
    assert_eq!(out.to_vec::<f64>().unwrap(), [1.0, 1.0]);
}

/// A module with trainable weights, BrainPy style: `(w·x + b)²` on one example.
#[derive(gradjit::Module)]
struct Linear {
    name: gradjit::ModuleName,
    w: gradjit::TrainVar,
    b: gradjit::TrainVar,
}

impl gradjit::Call<(Tensor,)> for Linear {
    type Out = Tensor;
    fn call(&self, (x,): (Tensor,)) -> Tensor {
        (&x.dot(&self.w.value()) + &self.b.value()).powi(2)
    }
}

#[test]
fn per_example_and_total_gradients_of_a_modules_variables() {
    use gradjit::Module;
    let model = Linear {
        name: gradjit::ModuleName::exact("Linear0"),
        w: gradjit::TrainVar::new(Array::from(vec![0.5f64, -1.0])),
        b: gradjit::TrainVar::new(Array::from(0.25f64)),
    };
    let xs = Array::from_vec([3, 2], vec![1.0f64, 2.0, -1.0, 0.5, 0.0, 3.0]).unwrap();
    let rows: Vec<[f64; 2]> = vec![[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0]];
    let r = |x: &[f64; 2]| 0.5 * x[0] - x[1] + 0.25;
    let dw: Vec<f64> = rows.iter().flat_map(|x| [2.0 * r(x) * x[0], 2.0 * r(x) * x[1]]).collect();
    let db: Vec<f64> = rows.iter().map(|x| 2.0 * r(x)).collect();

    let per_example = jit(vmap(grad(&model).grad_vars(model.train_vars().unwrap())));
    let g = per_example.call(&xs).unwrap();
    close(&g.var_grad(&model.w).unwrap().to_vec::<f64>().unwrap(), &dw);
    close(&g.var_grad(&model.b).unwrap().to_vec::<f64>().unwrap(), &db);

    // reduce_axes: the totals, returned once (leaves: the loss, then the variables' gradients).
    let total = vmap(grad(&model).grad_vars(model.train_vars().unwrap()).reduce_axes(&["batch"]))
        .out_axes([Some(0), None, None])
        .axis_name("batch");
    let g = total.call(&xs).unwrap();
    close(&g.var_grad(&model.w).unwrap().to_vec::<f64>().unwrap(), &[dw[0] + dw[2] + dw[4], dw[1] + dw[3] + dw[5]]);
    close(&g.var_grad(&model.b).unwrap().to_vec::<f64>().unwrap(), &[db.iter().sum()]);
}

#[test]
fn grad_of_a_mapped_function_with_a_shared_output() {
    // Σ_lanes sin(x_i) is one scalar (out_axes None): its gradient is cos(x) per lane.
    let total = vmap(|x: Tensor| psum(&x.sin(), "b")).out_axes([None]).axis_name("b");
    let x = Array::from(vec![0.1f64, 0.7, -1.3]);
    let g = grad(&total).call(&x).unwrap();
    close(&g.arg_grad(0).unwrap().to_vec::<f64>().unwrap(), &[0.1f64.cos(), 0.7f64.cos(), (-1.3f64).cos()]);
    assert_eq!(total.call(&x).unwrap().item::<f64>().unwrap(), 0.1f64.sin() + 0.7f64.sin() + (-1.3f64).sin());
}

#[test]
fn an_axis_applies_to_every_leaf_of_a_tree_argument() {
    use gradjit::Tree;
    let params = Tree::list([
        Tree::Leaf(Array::from_vec([2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap()),
        Tree::Leaf(Array::from_vec([3, 2], vec![1.0f64, 0.0, 0.0, 1.0, 1.0, 1.0]).unwrap()),
    ]);
    // Lane k reads row k of the first leaf and column k of the second (in_axes 1 for both
    // would need equal sizes: here axis 0 of a [2,3] and axis 1 of a [3,2] both have 2).
    let f = vmap(|p: Vec<Tensor>| p[0].sum() * p[1].sum()).in_axes([Some(0)]);
    let e = f.call(&params).unwrap_err().to_string();
    assert!(e.contains("disagree on the mapped size"), "{e}");
    let f = vmap(|p: Vec<Tensor>, s: Tensor| &(p[0].sum() + p[1].sum()) * &s).in_axes([Some(1), None]);
    let params = Tree::list([
        Tree::Leaf(Array::from_vec([2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap()),
        Tree::Leaf(Array::from_vec([1, 3], vec![10.0f64, 20.0, 30.0]).unwrap()),
    ]);
    let out = f.call((&params, Array::from(2.0f64))).unwrap();
    close(&out.to_vec::<f64>().unwrap(), &[2.0 * (5.0 + 10.0), 2.0 * (7.0 + 20.0), 2.0 * (9.0 + 30.0)]);
}

#[test]
fn control_flow_on_per_lane_data_compiles_and_runs_each_lane_to_its_end() {
    use gradjit::{switch, while_loop};
    // Each lane doubles its value until it reaches 100, then picks a branch by its size.
    let f = |x: Tensor| -> gradjit::Result<Tensor> {
        let y = while_loop(|x: Tensor| x.lt(100.0f64), |x: Tensor| &x * 2.0, &x)?;
        let k = y.gt(120.0f64).astype(gradjit::DType::I32);
        let branches = [|y: Tensor| y.sqrt(), |y: Tensor| -y];
        switch(&k, &branches, &y)
    };
    let xs = Array::from(vec![1.0f64, 3.0, 150.0, 7.5]);
    let lane = |x: f64| {
        let mut y = x;
        while y < 100.0 {
            y *= 2.0;
        }
        if y > 120.0 {
            -y
        } else {
            y.sqrt()
        }
    };
    let want: Vec<f64> = [1.0, 3.0, 150.0, 7.5].iter().map(|&x| lane(x)).collect();
    close(&vmap(f).call(&xs).unwrap().to_vec::<f64>().unwrap(), &want);
    let compiled = jit(vmap(f));
    close(&compiled.call(&xs).unwrap().to_vec::<f64>().unwrap(), &want);
}
