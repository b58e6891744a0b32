//! Every misuse of `grad` (and of the Jacobians, `jvp` and `vjp`) is an `Err` whose message names
//! the user's numbers and types, with BrainPy's wording, at the line of the call. Each `grad` call
//! runs interpreted and compiled (`jit_common`): the same error both ways, located at the user's
//! call (not inside gradjit, where `jit` calls the `grad`). The Jacobians, `jvp` and `vjp` are
//! checked on a plain and on a jitted function; last, the errors of `jit` itself.

mod jit_common;

use gradjit::{
    hessian, jacrev, jit, jvp, vjp, Argnums, Array, DType, Error, Module, ModuleName, Tensor, TrainVar, Tree, Var,
};
use jit_common::{grad, value_and_grad};
use num_complex::Complex32;

/// The message of `e`, after checking that it is a `grad` error located in this file.
#[track_caller]
fn message(e: Error) -> String {
    match &e {
        Error::Grad { loc, .. } => assert!(loc.file.ends_with("grad_errors.rs"), "{e}"),
        other => panic!("expected a grad error, got {other:?}"),
    }
    e.to_string()
}

#[track_caller]
fn assert_starts(msg: &str, prefix: &str) {
    assert!(msg.starts_with(prefix), "\n{msg}\ndoes not start with\n{prefix}");
}

fn sum(x: Tensor) -> Tensor {
    x.sum()
}

#[test]
fn non_scalar_outputs() {
    let e = grad(|x: Tensor| x.sin()).call(Array::ones([3])).unwrap_err();
    assert_starts(&message(e), "Gradient only defined for scalar-output functions. Output had shape: (3,).");
    // (1,) is not a scalar either.
    let e = grad(|x: Tensor| x.sin()).call(Array::ones([1])).unwrap_err();
    let msg = message(e);
    assert_starts(&msg, "Gradient only defined for scalar-output functions. Output had shape: (1,).");
    assert!(msg.contains("grad_errors.rs:"), "located at the call: {msg}");
}

#[test]
fn a_tuple_output_without_has_aux() {
    let e = grad(|x: Tensor| (x.sum(), (x.sin(), x.cos()))).call(Array::ones([2])).unwrap_err();
    assert_starts(
        &message(e),
        "Gradient only defined for scalar-output functions. Output was (f32[], (f32[2], f32[2])). To return \
         auxiliary data with the loss, set `has_aux(true)` and return `(loss, aux)`",
    );
    // With has_aux, a structured loss is named the same way.
    let e = grad(|x: Tensor| ((x.sum(), x.sum()), x.sin())).has_aux(true).call(Array::ones([2])).unwrap_err();
    assert_starts(&message(e), "Gradient only defined for scalar-output functions. Output was (f32[], f32[]).");
}

#[test]
fn has_aux_without_a_pair() {
    let e = grad(sum).has_aux(true).call(Array::ones([2])).unwrap_err();
    assert_starts(
        &message(e),
        "When has_aux=true, the differentiated function must return a (loss, aux) pair (a tuple or list of two), \
         but it returned f32[]. Return the auxiliary data alongside the loss, e.g. `(loss, aux)`",
    );
    let e = grad(|x: Tensor| (x.sum(), x.sin(), x.cos())).has_aux(true).call(Array::ones([2])).unwrap_err();
    assert!(message(e).contains("but it returned (f32[], f32[2], f32[2])"));
}

#[test]
fn integer_and_bool_outputs() {
    let e = grad(|x: Tensor| x.astype(DType::I32).sum()).call(Array::ones([2])).unwrap_err();
    assert_starts(
        &message(e),
        "grad requires real-valued outputs (output dtype that is floating-point), but got i32. For differentiation \
         of functions with integer outputs, use `vjp` directly",
    );
    let e = value_and_grad(|x: Tensor| x.sum().gt(0.0)).call(Array::ones([2])).unwrap_err();
    assert_starts(
        &message(e),
        "value_and_grad requires real-valued outputs (output dtype that is floating-point), but got bool.",
    );
}

#[test]
fn integer_and_bool_inputs() {
    let f = |x: Tensor| x.astype(DType::F32).sum();
    let e = grad(f).call(3i32).unwrap_err();
    assert_starts(
        &message(e),
        "grad requires real- or complex-valued inputs (input dtype that is floating-point or complex), but argument \
         0 has dtype i32. If you want to use boolean- or integer-valued inputs, use `vjp` or set `allow_int(true)`",
    );
    let e = grad(f).call(Array::ones_of(DType::Bool, [2])).unwrap_err();
    assert!(message(e).contains("but argument 0 has dtype bool."));
    // In a tree argument, the leaf is named by its path.
    let tree: Tree<Array> = Tree::dict([("w", Tree::leaf(Array::ones([2]))), ("n", Tree::leaf(Array::from(3i64)))]);
    let e = grad(|t: Tree<Tensor>| t["w"].as_leaf().unwrap().sum()).call(&tree).unwrap_err();
    assert!(message(e).contains("but argument 0 at ['n'] has dtype i64."));
    // An integer argument not in argnums is fine.
    let g = grad(|x: Tensor, n: Tensor| x * n.astype(DType::F32)).call((2.0f32, 3i32)).unwrap();
    assert_eq!(g.arg_grad(0).unwrap().item::<f32>().unwrap(), 3.0);
}

#[test]
fn allow_int_gives_float0_gradients() {
    let f = |n: Tensor, x: Tensor| (n.astype(DType::F32) * &x).sum();
    let n = Array::from(vec![0i32, 1, 2]);
    let x = Array::from(vec![0.0f32, 1.0, 2.0]);
    let r = grad(f).argnums([0, 1]).allow_int(true).call((&n, &x)).unwrap();
    let dn = r.arg_grad(0).unwrap();
    assert_eq!((dn.dtype(), dn.shape()), (DType::Float0, &[3][..]));
    assert_eq!(r.arg_grad(1).unwrap().to_vec::<f32>().unwrap(), [0.0, 1.0, 2.0]);
}

#[test]
fn argnums_out_of_range_name_the_users_numbers() {
    let e = grad(sum).argnums(5).call(Array::ones([2])).unwrap_err();
    assert_starts(
        &message(e),
        "differentiating with respect to argnums=5 requires at least 6 positional arguments to be passed by the \
         caller, but got only 1 positional argument",
    );
    let e = grad(|a: Tensor, b: Tensor| (a * b).sum()).argnums([0, 3]).call((1.0f32, 2.0f32)).unwrap_err();
    assert_starts(
        &message(e),
        "differentiating with respect to argnums=[0, 3] requires at least 4 positional arguments to be passed by the \
         caller, but got only 2 positional arguments",
    );
    // With grad vars the user's argnums are still what is reported (BrainPy shifts them by 2).
    let x = TrainVar::new(Array::zeros([1]));
    let e = grad(|a: Tensor| (a * x.value()).sum()).grad_vars(&x).argnums(1).call(1.0f32).unwrap_err();
    assert!(message(e).contains("argnums=1 requires at least 2 positional arguments"));
}

#[test]
fn negative_duplicate_and_empty_argnums() {
    let e = grad(sum).argnums(-1).call(Array::ones([2])).unwrap_err();
    assert_starts(
        &message(e),
        "argnums -1 is negative. Gradient transforms do not support negative argnums; use the non-negative index of \
         the positional argument instead",
    );
    let f = |a: Tensor, b: Tensor| (a * b).sum();
    let e = grad(f).argnums([0, 0]).call((1.0f32, 2.0f32)).unwrap_err();
    assert_starts(&message(e), "argnums=[0, 0] lists argument 0 more than once");
    let e = grad(f).argnums(Argnums::Seq(vec![])).call((1.0f32, 2.0f32)).unwrap_err();
    assert_starts(
        &message(e),
        "argnums=[] selects no argument and there are no grad_vars: there is nothing to differentiate",
    );
}

#[test]
fn complex_outputs_need_holomorphic() {
    let z = Array::from(Complex32::new(1.0, 2.0));
    let e = grad(|z: Tensor| &z * &z).call(&z).unwrap_err();
    assert_starts(
        &message(e),
        "grad requires real-valued outputs (output dtype that is floating-point), but got c64. For holomorphic \
         differentiation, pass `holomorphic(true)`.",
    );
    // With it: the complex derivative of z² at 1+2j is 2+4j.
    let r = grad(|z: Tensor| &z * &z).holomorphic(true).call(&z).unwrap();
    assert_eq!(r.arg_grad(0).unwrap().item::<Complex32>().unwrap(), Complex32::new(2.0, 4.0));
    // Without it, a real function of a complex input gives the conjugate: |z|² → 2-4j.
    let r = grad(|z: Tensor| (&z * z.conj()).real()).call(&z).unwrap();
    assert_eq!(r.arg_grad(0).unwrap().item::<Complex32>().unwrap(), Complex32::new(2.0, -4.0));
}

#[test]
fn holomorphic_needs_complex_inputs_and_outputs() {
    let e = grad(|x: Tensor| x.sin()).holomorphic(true).call(1.0f32).unwrap_err();
    assert_starts(
        &message(e),
        "grad with holomorphic=true requires inputs with complex dtype, but argument 0 has dtype f32",
    );
    let z = Array::from(Complex32::new(1.0, 2.0));
    let e = grad(|z: Tensor| z.real()).holomorphic(true).call(&z).unwrap_err();
    assert_starts(&message(e), "grad with holomorphic=true requires outputs with complex dtype, but got f32");
}

#[derive(Module)]
struct Counter {
    name: ModuleName,
    w: TrainVar,
    steps: Var,
}

#[test]
fn grad_vars_are_checked_like_inputs() {
    let m = Counter {
        name: ModuleName::exact("Counter0"),
        w: TrainVar::new(Array::ones([2])),
        steps: Var::new(Array::zeros_of(DType::I32, [])),
    };
    let f = || (m.w.value() * m.steps.value().astype(DType::F32)).sum();
    // vars() includes the integer step counter: named in the message.
    let e = grad(f).grad_vars(m.vars().unwrap()).call(()).unwrap_err();
    assert!(message(e).contains("but grad var `Counter0.steps` has dtype i32. If you want to use boolean-"));
    // train_vars() does not.
    assert!(grad(f).grad_vars(m.train_vars().unwrap()).call(()).is_ok());
    // holomorphic grad vars must be complex.
    let e = grad(f).grad_vars(&m.w).holomorphic(true).call(()).unwrap_err();
    assert!(message(e).contains("requires inputs with complex dtype, but grad var `Counter0.w` has dtype f32"));
}

#[test]
fn reduce_axes_and_dyn_vars() {
    // `reduce_axes(&[])` and `dyn_vars` are accepted; a named axis must be bound by a vmap.
    let v = Var::new(Array::ones([2]));
    let r = grad(sum).reduce_axes(&[]).dyn_vars(&v).call(Array::ones([2])).unwrap();
    assert_eq!(r.arg_grad(0).unwrap().to_vec::<f32>().unwrap(), [1.0, 1.0]);
    let e = grad(sum).reduce_axes(&["batch"]).call(Array::ones([2])).unwrap_err();
    assert_starts(&message(e), "reduce_axes=[\"batch\"] names axis 'batch', which no enclosing vmap binds");
}

#[test]
fn errors_of_the_function_itself_surface_with_its_location() {
    let e = grad(|x: Tensor| (&x + Tensor::ones(DType::F32, &[3])).sum()).call(Array::ones([2])).unwrap_err();
    assert!(matches!(e, Error::Op { .. }), "{e}");
    assert!(e.to_string().contains("could not be broadcast together with shapes (2,) and (3,)"), "{e}");
    assert!(e.loc().unwrap().file.ends_with("grad_errors.rs"));
}

#[test]
fn jacobian_and_tangent_errors() {
    plain_and_jitted!(wrap => {
        let e = jacrev(wrap(|x: Tensor| x.astype(DType::F32))).call(Array::from(vec![1i32, 2])).unwrap_err();
        assert_starts(
            &message(e),
            "jacrev requires real- or complex-valued inputs (input dtype that is floating-point or complex), but \
             argument 0 has dtype i32.",
        );
        let e = hessian(wrap(sum)).argnums([1]).call(Array::ones([2])).unwrap_err();
        assert!(message(e).contains("argnums=[1] requires at least 2 positional arguments"));
        let e = jvp(wrap(sum), Array::ones([2]), Array::ones([3])).unwrap_err();
        assert_starts(
            &message(e),
            "jvp: the tangent of argument 0 has type f32[3], but it must have type f32[2] (a tangent has its \
             primal's shape, and its dtype (float0 for integer and boolean primals))",
        );
        let (_, pullback) = vjp(wrap(|x: Tensor| (x.sum(), x.sin())), Array::ones([2])).unwrap();
        let e = pullback.call(1.0f32).unwrap_err();
        let msg = message(e);
        assert!(msg.contains("vjp: the cotangent of the output has type f32[], but it must have type (f32[], f32[2])"));
    });
}

#[test]
fn errors_of_a_jitted_function_are_located_and_not_cached() {
    let f = jit(|x: Tensor| (&x + Tensor::ones(DType::F32, &[3])).sum());
    for traces in 1..=2 {
        let e = f.call(Array::ones([2])).unwrap_err();
        assert!(matches!(e, Error::Op { .. }) && e.to_string().contains("shapes (2,) and (3,)"), "{e}");
        assert!(e.loc().unwrap().file.ends_with("grad_errors.rs"), "at the operation: {e}");
        assert_eq!((f.num_traces(), f.num_cached(), f.num_compiles()), (traces, 0, 0));
    }
    // The error the function itself returns.
    let v = Var::new(Array::ones([2]));
    let e = jit(|x: Tensor| -> gradjit::Result<Tensor> {
        v.set(&x)?;
        Ok(x)
    })
    .call(Array::ones([3]))
    .unwrap_err();
    assert!(e.to_string().contains("The shape of the original data is (2,), while we got (3,)."), "{e}");
    assert_eq!(v.get().to_vec::<f32>().unwrap(), [1.0, 1.0], "nothing was written");
}

#[test]
fn bad_arguments_are_errors() {
    let f = jit(|x: Tensor| x.sin());
    let tree: Tree<Array> = Tree::list([Tree::leaf(Array::ones([2]))]);
    let e = f.call(&tree).unwrap_err();
    assert!(matches!(e, Error::Argument(_)) && e.to_string().contains("takes a Tensor there"), "{e}");
    // A poisoned argument gives its error.
    let bad = Tensor::from(Array::ones([2])) + Tensor::from(Array::ones([3]));
    assert!(matches!(f.apply(&bad).unwrap_err(), Error::Op { .. }));
    // A tensor that escaped its trace, called after the trace ended.
    let escaped = std::cell::RefCell::new(None);
    gradjit::make_ir(
        |x: Tensor| {
            escaped.replace(Some(x.clone()));
            x
        },
        Array::ones([2]),
    )
    .unwrap();
    let e = f.apply(escaped.take().unwrap()).unwrap_err();
    assert!(matches!(e, Error::EscapedTensor { .. }), "{e}");
    assert_eq!(f.num_compiles(), 0);
}

#[test]
fn a_function_using_an_outer_trace_cannot_be_compiled_alone() {
    let g = gradjit::grad(|x: Tensor| -> gradjit::Result<Tensor> {
        let inner = jit(|y: Tensor| &x * y);
        let e = inner.compile(1.0f32).err().expect("captures x");
        assert!(e.to_string().contains("cannot be compiled alone"), "{e}");
        // Called, it is inlined into the trace instead, and never cached.
        let out = inner.apply(x.clone())?;
        assert_eq!((inner.num_cached(), inner.num_compiles()), (0, 0));
        Ok(out)
    });
    assert_eq!(g.call(3.0f32).unwrap().arg_grad(0).unwrap().item::<f32>().unwrap(), 6.0);
}
