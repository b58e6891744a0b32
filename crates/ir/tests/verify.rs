//! The verifier: one test per kind of error, checking the message and the marked context.

use gradjit_ir::interp::run;
use gradjit_ir::verify::verify;
use gradjit_ir::{BinaryOp, DType, Function, HostArray, Prim, Shape, TensorType, UnaryOp, Value};
use smallvec::smallvec;
use std::sync::Arc;

/// Lines joined with newlines (a string literal continued with `\` would drop their indentation).
fn lines(ls: &[&str]) -> String {
    ls.join("\n")
}

fn f32s(n: usize) -> TensorType {
    TensorType::new(DType::F32, [n])
}

/// `a b -> c = mul a b; d = sin c; e = add c c; (e,)`, with `d` declared as `d_ty`.
fn three_eqns(d_ty: TensorType) -> Function {
    let mut f = Function::new();
    let a = f.add_param(f32s(3));
    let b = f.add_param(f32s(3));
    let c = f.push1(Prim::Binary(BinaryOp::Mul), &[a, b], None).unwrap();
    f.push_typed(Prim::Unary(UnaryOp::Sin), &[c], [d_ty], None);
    let e = f.push1(Prim::Binary(BinaryOp::Add), &[c, c], None).unwrap();
    f.outputs.push(e);
    f
}

#[test]
fn well_formed_functions_verify() {
    assert_eq!(verify(&three_eqns(f32s(3))), Ok(()));
    assert_eq!(verify(&Function::new()), Ok(()));
    let mut f = Function::new();
    let a = f.add_param(f32s(3));
    let body = three_eqns(f32s(3));
    let out = f.push1(Prim::Call { body: Arc::new(body) }, &[a, a], None).unwrap();
    f.outputs.extend([out, a, out]);
    assert_eq!(verify(&f), Ok(()));
}

#[test]
fn a_declared_type_that_differs_from_the_shape_rule() {
    let err = verify(&three_eqns(f32s(4))).unwrap_err();
    assert_eq!(err.eqn, Some(1));
    assert_eq!(err.message, "equation 1: sin produces f32[3] but declares its output d as f32[4]");
    assert_eq!(
        err.context,
        lines(&[
            "  { lambda ; a:f32[3] b:f32[3]. let",
            "      c:f32[3] = mul a b",
            ">     d:f32[4] = sin c",
            "      e:f32[3] = add c c",
            "    in (e,) }",
        ])
    );
    assert_eq!(err.to_string(), format!("{}\n{}", err.message, err.context));
}

#[test]
fn operands_that_break_the_shape_rule() {
    let mut f = Function::new();
    let a = f.add_param(f32s(2));
    let b = f.add_param(TensorType::new(DType::F64, [2]));
    let c = f.push_typed(Prim::Binary(BinaryOp::Add), &[a, b], [f32s(2)], None)[0];
    f.outputs.push(c);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, Some(0));
    assert_eq!(err.message, "equation 0: add: operand dtypes differ: f32[2] and f64[2]");
    assert!(err.context.contains("\n>     c:f32[2] = add a b\n"), "{}", err.context);
}

#[test]
fn a_wrong_number_of_outputs() {
    let mut f = Function::new();
    let a = f.add_param(f32s(2));
    let outs = f.push_typed(Prim::Unary(UnaryOp::Exp), &[a], [f32s(2), f32s(2)], None);
    f.outputs.push(outs[0]);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "equation 0: exp produces 1 output(s) (f32[2]) but the equation binds 2");
    assert!(err.context.contains("\n>     b:f32[2] c:f32[2] = exp a\n"), "{}", err.context);
}

#[test]
fn use_before_definition() {
    // Equation 0 reads `c`, which equation 1 defines.
    let mut f = Function::new();
    let a = f.add_param(f32s(3));
    let later = f.new_value(f32s(3));
    let b = f.push_typed(Prim::Binary(BinaryOp::Mul), &[a, later], [f32s(3)], None)[0];
    f.push_typed(Prim::Unary(UnaryOp::Neg), &[a], [f32s(3)], None);
    f.eqns[1].outputs = smallvec![later];
    f.outputs.push(b);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, Some(0));
    assert_eq!(
        err.message,
        "equation 0: operand 1 (c) of mul is used before it is defined: it is defined later, by equation 1"
    );
    assert_eq!(
        err.context,
        lines(&["  { lambda ; a:f32[3]. let", ">     b:f32[3] = mul a c", "      c:f32[3] = neg a", "    in (b,) }",])
    );

    // A value nothing defines prints as `%id`.
    let mut f = Function::new();
    let a = f.add_param(f32s(3));
    let ghost = f.new_value(f32s(3));
    let b = f.push_typed(Prim::Binary(BinaryOp::Sub), &[ghost, a], [f32s(3)], None)[0];
    f.outputs.push(b);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "equation 0: operand 0 (%1) of sub is used before it is defined: it is never defined");

    // An equation reading its own output.
    let mut f = Function::new();
    let a = f.add_param(f32s(3));
    let b = f.push_typed(Prim::Binary(BinaryOp::Add), &[a, a], [f32s(3)], None)[0];
    f.eqns[0].inputs[1] = b;
    f.outputs.push(b);
    let err = verify(&f).unwrap_err();
    assert_eq!(
        err.message,
        "equation 0: operand 1 (b) of add is used before it is defined: it is an output of this equation"
    );
}

#[test]
fn duplicate_definitions() {
    // Equation 2 redefines `c`, the output of equation 0.
    let mut f = three_eqns(f32s(3));
    let c = f.eqns[0].outputs[0];
    f.eqns[2].outputs = smallvec![c];
    f.outputs = vec![c];
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, Some(2));
    assert_eq!(err.message, "equation 2: c is defined twice: it is already defined by equation 0");
    assert_eq!(
        err.context,
        lines(&[
            "  { lambda ; a:f32[3] b:f32[3]. let",
            "      c:f32[3] = mul a b",
            "      d:f32[3] = sin c",
            ">     c:f32[3] = add c c",
            "    in (c,) }",
        ])
    );

    // An equation that redefines a parameter.
    let mut f = three_eqns(f32s(3));
    let b = f.params[1];
    f.eqns[1].outputs = smallvec![b];
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "equation 1: b is defined twice: it is already parameter 1");

    // A parameter listed twice.
    let mut f = three_eqns(f32s(3));
    f.params[1] = f.params[0];
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, None);
    assert_eq!(err.message, "parameter 1 (a) repeats parameter 0");
    assert!(err.context.starts_with("> { lambda ; a:f32[3] a:f32[3]. let\n"), "{}", err.context);
}

#[test]
fn outputs_that_are_not_defined() {
    let mut f = three_eqns(f32s(3));
    let ghost = f.new_value(f32s(3));
    f.outputs.push(ghost);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, None);
    assert_eq!(err.message, "output 1 (%5) is not defined");
    assert!(err.context.ends_with("\n>   in (e, %5) }"), "{}", err.context);

    let mut f = three_eqns(f32s(3));
    f.outputs.push(Value::from_index(1000));
    assert_eq!(verify(&f).unwrap_err().message, "output 1 (%1000) is not defined");
}

#[test]
fn values_that_do_not_exist() {
    let mut f = three_eqns(f32s(3));
    f.eqns[2].inputs[0] = Value::from_index(77);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "equation 2: operand 0 (%77) of add is not a value of this function");

    let mut f = three_eqns(f32s(3));
    f.eqns[1].outputs = smallvec![Value::from_index(78)];
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "equation 1: output %78 of sin is not a value of this function");

    let mut f = three_eqns(f32s(3));
    f.params.push(Value::from_index(79));
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "parameter 2 (%79) is not a value of this function");
}

#[test]
fn a_bad_nested_body() {
    // The body's equation 1 declares the wrong type; the call is equation 1 of `f`.
    let body = three_eqns(f32s(4));
    let mut f = Function::new();
    let x = f.add_param(f32s(3));
    let y = f.push1(Prim::Unary(UnaryOp::Cos), &[x], None).unwrap();
    let z = f.push_typed(Prim::Call { body: Arc::new(body) }, &[x, y], [f32s(3)], None)[0];
    f.outputs.push(z);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, Some(1));
    assert_eq!(
        err.message,
        "equation 1 (call), in its body: equation 1: sin produces f32[3] but declares its output d as f32[4]"
    );
    // The bad line of the body is marked where the body is printed, inside the call.
    assert_eq!(
        err.context,
        lines(&[
            "  ...",
            "      b:f32[3] = cos a",
            "      c:f32[3] = call[body={ lambda ; a:f32[3] b:f32[3]. let",
            "              c:f32[3] = mul a b",
            ">             d:f32[4] = sin c",
            "              e:f32[3] = add c c",
            "            in (e,) }] a b",
            "    in (c,) }",
        ])
    );

    // Two levels deep: the path names both calls.
    let mut g = Function::new();
    let x = g.add_param(f32s(3));
    let y = g.push_typed(Prim::Call { body: Arc::new(f) }, &[x], [f32s(3)], None)[0];
    g.outputs.push(y);
    let err = verify(&g).unwrap_err();
    assert_eq!(err.eqn, Some(0));
    assert!(
        err.message.starts_with("equation 0 (call), in its body: equation 1 (call), in its body: equation 1: sin"),
        "{}",
        err.message
    );
    let marked: Vec<&str> = err.context.lines().filter(|l| l.starts_with('>')).collect();
    assert_eq!(marked.len(), 1, "{}", err.context);
    assert_eq!(marked[0].trim_start_matches('>').trim(), "d:f32[4] = sin c");
}

#[test]
fn a_bad_second_branch_or_loop_body_is_marked_in_place() {
    // A cond whose second branch declares a wrong type: the marked line is in that branch, below
    // the first.
    let good = Arc::new(three_eqns(f32s(3)));
    let bad = Arc::new(three_eqns(f32s(4)));
    let mut f = Function::new();
    let i = f.add_param(TensorType::scalar(DType::I32));
    let x = f.add_param(f32s(3));
    let y = f.push_typed(Prim::Cond { branches: vec![good.clone(), bad.clone()] }, &[i, x, x], [f32s(3)], None)[0];
    f.outputs.push(y);
    let err = verify(&f).unwrap_err();
    assert_eq!(
        err.message,
        "equation 0 (cond), in branch 1: equation 1: sin produces f32[3] but declares its output d as f32[4]"
    );
    let marked: Vec<&str> = err.context.lines().filter(|l| l.starts_with('>')).collect();
    assert_eq!(marked, [">             d:f32[4] = sin c"], "{}", err.context);
    let marked_at = err.context.lines().position(|l| l.starts_with('>')).unwrap();
    assert!(err.context.lines().take(marked_at).any(|l| l.contains("}, { lambda")), "{}", err.context);

    // A while whose body is bad: named as the body, not the condition.
    let mut cond = Function::new();
    cond.add_param(f32s(3));
    let z = cond.add_param(TensorType::scalar(DType::Bool));
    cond.outputs.push(z);
    let mut body = three_eqns(f32s(4));
    body.params.truncate(1);
    body.eqns[0].inputs = smallvec![body.params[0], body.params[0]];
    let b = body.add_param(TensorType::scalar(DType::Bool));
    body.outputs.push(b);
    let mut g = Function::new();
    let x = g.add_param(f32s(3));
    let p = g.add_param(TensorType::scalar(DType::Bool));
    let prim = Prim::While { cond_consts: 0, body_consts: 0, cond: Arc::new(cond), body: Arc::new(body) };
    let outs = g.push_typed(prim, &[x, p], [f32s(3), TensorType::scalar(DType::Bool)], None);
    g.outputs.push(outs[0]);
    let err = verify(&g).unwrap_err();
    assert!(err.message.starts_with("equation 0 (while), in its body: equation 1: sin"), "{}", err.message);
}

#[test]
fn a_scan_whose_slices_do_not_fit_is_a_type_error_of_the_scan() {
    let body = three_eqns(f32s(3));
    let mut f = Function::new();
    let c = f.add_param(f32s(3));
    let xs = f.add_param(TensorType::new(DType::F32, [5, 4]));
    let prim = Prim::Scan { length: 5, reverse: false, num_consts: 0, num_carry: 1, body: Arc::new(body) };
    let out = f.push_typed(prim, &[c, xs], [f32s(3)], None)[0];
    f.outputs.push(out);
    let err = verify(&f).unwrap_err();
    assert_eq!(
        err.message,
        "equation 0: scan: scanned operand 0 is f32[5,4], but a body taking f32[3] slices over 5 steps needs f32[5,3]"
    );
}

#[test]
fn a_call_whose_body_signature_is_broken_is_reported_not_trusted() {
    let mut body = Function::new();
    body.add_param(f32s(2));
    body.outputs.push(Value::from_index(9));
    let mut f = Function::new();
    let x = f.add_param(f32s(2));
    let y = f.push_typed(Prim::Call { body: Arc::new(body) }, &[x], [f32s(2)], None)[0];
    f.outputs.push(y);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.message, "equation 0 (call), in its body: output 0 (%9) is not defined");
    assert!(err.context.contains("\n>           in (%9,) }] a\n"), "{}", err.context);
}

#[test]
fn context_shows_three_lines_either_side() {
    let mut f = Function::new();
    let mut v = f.add_param(f32s(2));
    for i in 0..20 {
        if i == 10 {
            v = f.push_typed(Prim::Unary(UnaryOp::Tanh), &[v], [f32s(5)], None)[0];
        } else {
            v = f.push1(Prim::Unary(UnaryOp::Exp), &[v], None).unwrap();
        }
    }
    f.outputs.push(v);
    let err = verify(&f).unwrap_err();
    assert_eq!(err.eqn, Some(10));
    assert_eq!(
        err.context,
        lines(&[
            "  ...",
            "      i:f32[2] = exp h",
            "      j:f32[2] = exp i",
            "      k:f32[2] = exp j",
            ">     l:f32[5] = tanh k",
            "      m:f32[5] = exp l",
            "      n:f32[5] = exp m",
            "      o:f32[5] = exp n",
            "  ...",
        ])
    );
}

/// Every operand, result, parameter and output rewired to every value (and two that do not
/// exist): the verifier answers, and its error prints, without panicking.
#[test]
fn rewired_functions_never_panic() {
    let mut base = Function::new();
    let a = base.add_param(f32s(3));
    let b = base.add_param(TensorType::scalar(DType::F32));
    let c = base.push1(Prim::Call { body: Arc::new(three_eqns(f32s(3))) }, &[a, a], None).unwrap();
    let d = base.push1(Prim::Unary(UnaryOp::Exp), &[b], None).unwrap();
    base.outputs.extend([c, d]);
    assert_eq!(verify(&base), Ok(()));
    let args = [HostArray::zeros(DType::F32, [3]), HostArray::zeros(DType::F32, Shape::scalar())];
    assert!(run(&base, &args).is_ok());
    let n = base.num_values() + 2;
    let slots = {
        let mut slots = vec![];
        for (i, e) in base.eqns.iter().enumerate() {
            slots.extend((0..e.inputs.len()).map(|k| (Some(i), true, k)));
            slots.extend((0..e.outputs.len()).map(|k| (Some(i), false, k)));
        }
        slots.extend((0..base.params.len()).map(|k| (None, true, k)));
        slots.extend((0..base.outputs.len()).map(|k| (None, false, k)));
        slots
    };
    for (eqn, is_input, k) in slots {
        for v in (0..n).map(Value::from_index) {
            let mut f = base.clone();
            match (eqn, is_input) {
                (Some(i), true) => f.eqns[i].inputs[k] = v,
                (Some(i), false) => f.eqns[i].outputs[k] = v,
                (None, true) => f.params[k] = v,
                (None, false) => f.outputs[k] = v,
            }
            let outcome = std::panic::catch_unwind(|| verify(&f).map_err(|e| e.to_string()));
            assert!(outcome.is_ok(), "verify panicked on\n{f}");
            // The interpreter does not verify first, but it does not panic either.
            let outcome = std::panic::catch_unwind(|| run(&f, &args).map_err(|e| e.to_string()));
            assert!(outcome.is_ok(), "run panicked on\n{f}");
        }
    }
}
