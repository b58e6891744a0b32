//! `make_ir`: traced IR of functions of 0 to 5 arguments and of pytrees, variables as implicit
//! inputs and outputs, nested traces capturing outer tensors, and escaped tensors.

use gradjit::{make_ir, Array, Error, Tensor, TrainVar, Tree, Var};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Compares `actual` with the golden file `tests/golden/<name>`; `GRADJIT_BLESS=1` rewrites it.
fn check_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name);
    if std::env::var_os("GRADJIT_BLESS").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(actual, expected, "golden file {} differs (GRADJIT_BLESS=1 rewrites it)", path.display());
}

/// `ir` verifies, and its text parses back to the same function (tracing numbers values in
/// definition order, as the parser does).
#[track_caller]
fn assert_canonical(ir: &gradjit::TracedFunction) {
    gradjit_ir::verify(ir.function()).unwrap_or_else(|e| panic!("{e}\n{ir}"));
    let parsed = gradjit_ir::parse_function(&ir.to_string()).unwrap_or_else(|e| panic!("{e}\n{ir}"));
    assert_eq!(&parsed, ir.function(), "{ir}");
}

fn ones(n: usize) -> Array {
    Array::ones([n])
}

/// The example of BrainPy's `grad` documentation (seed), written as a closure: `x` a trainable
/// variable, `y` a captured array.
#[test]
fn seed_example_matches_golden_ir() {
    let x = TrainVar::new(Array::zeros([1])).with_name("Example0.x");
    let y = Array::from(vec![0.1f32, 0.5, 0.2, 0.3, 0.4, 0.6, 0.7, 0.1, 0.2, 0.25]);
    let f = |z: Tensor, v: Tensor| {
        let t1 = x.value() * Tensor::from(&y).sum();
        let t2 = (z * v + t1).tanh();
        t2.mean()
    };
    let ir = make_ir(f, (&ones(10), &ones(10))).unwrap();
    check_golden("seed_example.ir", &ir.to_string());
    assert_canonical(&ir);
    // The variable is the implicit third input; nothing is written.
    assert_eq!(ir.var_inputs(), &[Var::from(&x)]);
    assert!(ir.var_outputs().is_empty() && ir.captures().is_empty());
    assert_eq!(ir.num_explicit_inputs(), 2);
    assert_eq!(ir.out_tree().to_string(), "*");
    // sum(y) was computed while tracing: a constant.
    assert!(ir.to_string().contains("constant[value=3.35]"), "{ir}");
}

#[test]
fn functions_of_zero_one_two_and_five_arguments() {
    let zero = make_ir(|| Tensor::from(2.0f32).exp(), ()).unwrap();
    assert_eq!(zero.to_string(), "{ lambda ; . let\n    a:f32[] = constant[value=7.389056]\n  in (a,) }");

    // One argument may be passed without a tuple.
    let one = make_ir(|a: Tensor| a.sin(), ones(3)).unwrap();
    assert_eq!(one.to_string(), "{ lambda ; a:f32[3]. let\n    b:f32[3] = sin a\n  in (b,) }");
    let one_tuple = make_ir(|a: Tensor| a.sin(), (&ones(3),)).unwrap();
    assert_eq!(one.function(), one_tuple.function());

    let two = make_ir(|a: Tensor, b: Tensor| a.matmul(&b), (Array::ones([2, 3]), Array::ones([3]))).unwrap();
    assert_eq!(
        two.to_string(),
        "{ lambda ; a:f32[2,3] b:f32[3]. let\n    \
         c:f32[2] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] a b\n  in (c,) }"
    );

    let five = make_ir(
        |a: Tensor, b: Tensor, c: Tensor, d: Tensor, e: Tensor| (a * b + c) * d - e,
        (&ones(4), &ones(4), 1.0f32, 2.0f32, &ones(4)),
    )
    .unwrap();
    let text = five.to_string();
    assert!(text.starts_with("{ lambda ; a:f32[4] b:f32[4] c:f32[] d:f32[] e:f32[4]. let"), "{text}");
    assert_eq!(five.function().eqns.len(), 6, "{text}"); // mul, bcast, add, bcast, mul, sub
    assert_eq!(five.function().param_types().len(), 5);
    for ir in [&zero, &one, &two, &five] {
        assert_canonical(ir);
    }
}

#[test]
fn scalar_arguments_keep_their_rust_type() {
    let ir = make_ir(|a: Tensor, b: Tensor, c: Tensor| (a, b, c), (1.0f64, 2i32, true)).unwrap();
    assert_eq!(ir.to_string(), "{ lambda ; a:f64[] b:i32[] c:bool[]. let\n  in (a, b, c) }");
    assert_eq!(ir.out_tree().to_string(), "(*, *, *)");
}

#[test]
fn pytree_arguments_are_flattened_in_key_order() {
    let params: Tree<Array> = Tree::Dict(BTreeMap::from([
        ("w".to_string(), Tree::Leaf(Array::ones([3, 2]))),
        ("b".to_string(), Tree::Leaf(Array::zeros([2]))),
    ]));
    let f = |p: Tree<Tensor>, x: Tensor| {
        let (w, b) = (p["w"].as_leaf().unwrap(), p["b"].as_leaf().unwrap());
        x.matmul(w) + b
    };
    let ir = make_ir(f, (&params, &ones(3))).unwrap();
    // Dicts flatten in sorted key order: b, then w.
    assert_eq!(
        ir.to_string(),
        "{ lambda ; a:f32[2] b:f32[3,2] c:f32[3]. let\n    \
         d:f32[2] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] c b\n    \
         e:f32[2] = add d a\n  in (e,) }"
    );
    assert_eq!(ir.in_trees()[0].to_string(), "{'b': *, 'w': *}");
    assert_canonical(&ir);
    assert_eq!(ir.num_explicit_inputs(), 3);

    // A Vec<Tensor> parameter takes a list of arrays.
    let list = vec![ones(2), Array::zeros([2])];
    let ir = make_ir(|xs: Vec<Tensor>| xs[0].clone() - &xs[1], list).unwrap();
    assert_eq!(ir.function().params.len(), 2);
}

#[test]
fn outputs_keep_their_structure() {
    let f =
        |a: Tensor| (a.sin(), vec![a.cos(), a.exp()], Tree::Dict(BTreeMap::from([("s".into(), Tree::Leaf(a.sum()))])));
    let ir = make_ir(f, ones(2)).unwrap();
    assert_eq!(ir.out_tree().to_string(), "(*, [*, *], {'s': *})");
    assert_eq!(ir.num_explicit_outputs(), 4);
    // A function may return a Result, so that `?` works inside it.
    let ok = make_ir(|a: Tensor| -> Result<Tensor, Error> { Ok(a.exp()) }, ones(2)).unwrap();
    assert_eq!(ok.function().eqns.len(), 1);
}

#[test]
fn vars_become_implicit_inputs_and_outputs() {
    let count = Var::new(Array::zeros_of(gradjit_ir::DType::I32, [])).with_name("count");
    let w = TrainVar::new(Array::ones([3])).with_name("w");
    let unused = Var::new(Array::ones([2]));
    let f = |x: Tensor| -> gradjit::Result<Tensor> {
        count.set(&(count.value() + 1))?;
        let y = &x * w.value();
        w.set(&(w.value() * 2.0))?;
        // A read after a write sees the written value: w is read as an input once.
        let z = &y + w.value();
        Ok(z.sum())
    };
    let ir = make_ir(f, ones(3)).unwrap();
    assert_eq!(ir.var_inputs(), &[count.clone(), Var::from(&w)]);
    assert_eq!(ir.var_outputs(), &[count.clone(), Var::from(&w)]);
    assert!(!ir.var_inputs().contains(&unused));
    assert_eq!(
        ir.to_string(),
        "{ lambda ; a:f32[3] b:i32[] c:f32[3]. let
    d:i32[] = constant[value=1]
    e:i32[] = add b d
    f:f32[3] = mul a c
    g:f32[3] = constant[value=2.0]
    h:f32[3] = mul c g
    i:f32[3] = add f h
    j:f32[] = reduce_sum[axes=(0,)] i
  in (j, e, h) }"
    );
    assert_canonical(&ir);
    // Tracing ran nothing: the variables are unchanged.
    assert_eq!(count.get().item::<i32>().unwrap(), 0);
    assert_eq!(w.get().to_vec::<f32>().unwrap(), vec![1.0; 3]);

    // Running the traced function eagerly writes the variables back, as running f would.
    let out = ir.call(&[Tensor::from(vec![1.0f32, 2.0, 3.0])]).unwrap();
    assert_eq!(out[0].item().unwrap(), 1.0 + 2.0 + 3.0 + 6.0);
    assert_eq!(count.get().item::<i32>().unwrap(), 1);
    assert_eq!(w.get().to_vec::<f32>().unwrap(), vec![2.0; 3]);
    ir.call(&[Tensor::from(vec![0.0f32; 3])]).unwrap();
    assert_eq!(count.get().item::<i32>().unwrap(), 2);
    assert_eq!(w.get().to_vec::<f32>().unwrap(), vec![4.0; 3]);
}

#[test]
fn eager_var_reads_and_writes() {
    let v = Var::new(Array::from(vec![1.0f32, 2.0]));
    assert!(!v.is_trainable() && TrainVar::new(Array::ones([1])).is_trainable());
    let doubled = v.value() * 2.0;
    v.set(&doubled).unwrap();
    assert_eq!(v.get().to_vec::<f32>().unwrap(), vec![2.0, 4.0]);
    v.assign(Array::from(vec![5.0f32, 6.0])).unwrap();
    assert_eq!(v.value().to_vec::<f32>().unwrap(), vec![5.0, 6.0]);
    // Clones are the same variable, across threads.
    let w = v.clone();
    std::thread::spawn(move || w.assign(Array::from(vec![7.0f32, 8.0])).unwrap()).join().unwrap();
    assert_eq!(v.get().to_vec::<f32>().unwrap(), vec![7.0, 8.0]);
}

#[test]
fn captured_arrays_become_shared_constants() {
    let big = Array::from((0..6).map(|i| i as f32).collect::<Vec<_>>()).reshape([2, 3]).unwrap();
    let uniform = Array::full(0.5, [2, 3]);
    let f = |x: Tensor| &x * &big + &x * &big + &uniform;
    let ir = make_ir(f, Array::ones([2, 3])).unwrap();
    let text = ir.to_string();
    // One dense constant however often it is used, sharing the array's data; a splat for the uniform one.
    assert_eq!(text.matches("constant[value=[0.0 1.0 2.0 3.0 4.0 5.0]]").count(), 1, "{text}");
    assert!(text.contains("constant[value=0.5]"), "{text}");
    let dense = ir.function().eqns.iter().find_map(|e| match &e.prim {
        gradjit_ir::Prim::Constant(gradjit_ir::Literal::Dense(a)) => Some(a.clone()),
        _ => None,
    });
    assert!(std::sync::Arc::ptr_eq(&dense.unwrap(), &big.host_arc()));
}

#[test]
fn nested_traces_capture_outer_tensors() {
    let inner_ir = RefCell::new(None);
    let outer = make_ir(
        |x: Tensor| {
            let y = x.sin();
            // The inner function closes over `y`, a tensor of the outer trace.
            let inner = make_ir(|z: Tensor| &z * &y, ones(2)).unwrap();
            let out = inner.call(&[x.cos()]).unwrap().remove(0);
            *inner_ir.borrow_mut() = Some(inner.to_string());
            assert_eq!(inner.captures().len(), 1);
            out
        },
        ones(2),
    )
    .unwrap();
    // Inside, `y` is an implicit input after the explicit one.
    assert_eq!(
        inner_ir.borrow().as_deref(),
        Some("{ lambda ; a:f32[2] b:f32[2]. let\n    c:f32[2] = mul a b\n  in (c,) }")
    );
    assert_canonical(&outer);
    // Calling the inner function in the outer trace inlines it.
    assert_eq!(
        outer.to_string(),
        "{ lambda ; a:f32[2]. let\n    b:f32[2] = sin a\n    c:f32[2] = cos a\n    d:f32[2] = mul c b\n  in (d,) }"
    );
}

#[test]
fn a_tensor_that_escapes_its_trace_is_an_error_naming_where_it_was_made() {
    let leaked: RefCell<Option<Tensor>> = RefCell::new(None);
    let made_at = RefCell::new(0);
    make_ir(
        |x: Tensor| {
            let (y, line) = (x.exp(), line!());
            *made_at.borrow_mut() = line;
            *leaked.borrow_mut() = Some(y.clone());
            y
        },
        ones(2),
    )
    .unwrap();
    let t = leaked.borrow().clone().unwrap();
    let created = format!("{}:{}:", file!(), made_at.borrow());

    let read_line = line!() + 1;
    let err = t.to_array().unwrap_err();
    assert!(matches!(err, Error::EscapedTensor { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&created) && msg.contains(&format!("{}:{read_line}:", file!())), "{msg}");

    // An operation on it is poisoned with the same diagnosis, at the operation's line.
    let (z, op_line) = (&t + 1.0, line!());
    let msg = z.to_array().unwrap_err().to_string();
    assert!(msg.contains(&created) && msg.contains(&format!("{}:{op_line}:", file!())), "{msg}");

    // Used inside another transformation, it fails that transformation.
    let err = make_ir(|x: Tensor| &x * &t, ones(2)).unwrap_err();
    assert!(matches!(err, Error::EscapedTensor { .. }), "{err}");
    // So does writing it to a variable.
    let v = Var::new(ones(2));
    assert!(matches!(v.set(&t), Err(Error::EscapedTensor { .. })));
}

#[test]
fn traced_and_eager_evaluation_agree() {
    let f =
        |x: Tensor, w: Tensor| (x.matmul(&w).softmax(-1) * 3.0 - x.sum_axes(1, true).tanh()).logsumexp_axes(0, false);
    let x = Array::from([[0.5f32, -1.0, 2.0], [0.25, 0.0, -0.75]]);
    let w = Array::from([[1.0f32, 0.5], [-0.5, 2.0], [0.0, 1.0]]);
    let eager = f(Tensor::from(&x), Tensor::from(&w)).to_vec::<f32>().unwrap();
    let ir = make_ir(f, (&x, &w)).unwrap();
    let traced = ir.call(&[Tensor::from(&x), Tensor::from(&w)]).unwrap()[0].to_vec::<f32>().unwrap();
    assert_eq!(eager, traced);
    assert_eq!(eager.len(), 2);
}

#[test]
fn is_tracing_is_true_only_inside_a_transformation() {
    assert!(!gradjit::is_tracing());
    make_ir(
        |x: Tensor| {
            assert!(gradjit::is_tracing());
            x
        },
        ones(1),
    )
    .unwrap();
    assert!(!gradjit::is_tracing());
}

#[test]
fn broadcasting_a_captured_array_is_recorded_not_materialised() {
    let bias = Array::from(vec![1.0f32, 2.0, 3.0]);
    let ir = make_ir(|x: Tensor| &x + &bias, Array::ones([1000, 3])).unwrap();
    assert_eq!(
        ir.to_string(),
        "{ lambda ; a:f32[1000,3]. let
    b:f32[3] = constant[value=[1.0 2.0 3.0]]
    c:f32[1000,3] = broadcast_in_dim[shape=(1000, 3) broadcast_dimensions=(1,)] b
    d:f32[1000,3] = add a c
  in (d,) }"
    );
    // A scalar becomes one splat constant of the full shape, in the tensor's dtype.
    let ir = make_ir(|x: Tensor| 2.0 * &x - 1, Array::ones_of(gradjit::DType::F64, [4])).unwrap();
    assert_eq!(
        ir.to_string(),
        "{ lambda ; a:f64[4]. let
    b:f64[4] = constant[value=2.0]
    c:f64[4] = mul b a
    d:f64[4] = constant[value=1.0]
    e:f64[4] = sub c d
  in (e,) }"
    );
}

#[test]
fn equations_carry_the_users_source_lines() {
    let line = RefCell::new(0);
    let ir = make_ir(
        |x: Tensor| {
            let (y, l) = (x.softmax(-1), line!());
            *line.borrow_mut() = l;
            y
        },
        Array::ones([2, 3]),
    )
    .unwrap();
    // Every equation of the composite softmax points at the line that called it.
    let at = format!("\"{}\":{}:", file!(), line.borrow());
    let text = ir.to_text_with_locs();
    assert_eq!(text.matches(&at).count(), ir.function().eqns.len(), "{text}");
    assert!(ir.function().eqns.len() >= 6, "{text}");
}

#[test]
fn outputs_and_parameters_rebuild_their_structure_with_other_leaves() {
    use gradjit::{Output, Param};
    type Out = (Tensor, Vec<Tensor>, gradjit::Result<Tensor>);
    let leaves = Tree::Tuple(vec![Tree::Leaf(1), Tree::List(vec![Tree::Leaf(2), Tree::Leaf(3)]), Tree::Leaf(4)]);
    let rebuilt: Option<(i32, Vec<i32>, i32)> = <Out as Output>::rebuild(leaves);
    assert_eq!(rebuilt, Some((1, vec![2, 3], 4)));
    // A tree of another structure does not fit.
    assert_eq!(<Out as Output>::rebuild(Tree::Tuple(vec![Tree::Leaf(1)])), None);
    assert_eq!(<(Tensor,) as Output>::rebuild(Tree::Tuple(vec![Tree::Leaf(1), Tree::Leaf(2)])), None);
    assert_eq!(<Tensor as Param>::rebuild(Tree::Leaf("g")), Some("g"));
    assert_eq!(<Vec<Tensor> as Param>::rebuild(Tree::List(vec![Tree::Leaf(1), Tree::Leaf(2)])), Some(vec![1, 2]));
    assert_eq!(<Tree<Tensor> as Param>::rebuild(Tree::Leaf(1.5)), Some(Tree::Leaf(1.5)));
}

#[test]
fn a_panic_inside_the_traced_function_ends_its_trace() {
    let leaked: RefCell<Option<Tensor>> = RefCell::new(None);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        make_ir(
            |x: Tensor| -> Tensor {
                *leaked.borrow_mut() = Some(x.exp());
                panic!("user code failed")
            },
            ones(2),
        )
    }));
    assert!(r.is_err());
    assert!(!gradjit::is_tracing());
    // Its tensors are escaped, and a new trace works normally.
    let t = leaked.borrow().clone().unwrap();
    assert!(matches!(t.to_array(), Err(Error::EscapedTensor { .. })));
    assert!(make_ir(|x: Tensor| x.exp(), ones(2)).is_ok());
}
