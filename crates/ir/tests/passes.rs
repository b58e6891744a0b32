//! The simplification passes: each rule family on a small function built in Rust, compared
//! with the expected text; validity and canonical numbering of every result.

use gradjit_ir::passes::{self, algebraic::algebraic, cse::cse, dce::dce};
use gradjit_ir::{
    Axes, BinaryOp, DType, Function, HostArray, Literal, Prim, ReduceOp, Scalar, Shape, TensorType, UnaryOp, Value,
};
use smallvec::smallvec;
use std::sync::Arc;

/// Parses `f32[2,3]`.
fn ty(s: &str) -> TensorType {
    let (d, rest) = s.split_once('[').expect("dtype[dims]");
    let dims: Vec<usize> =
        rest.trim_end_matches(']').split(',').filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    TensorType::new(DType::from_name(d).expect("dtype"), dims)
}

fn op(f: &mut Function, prim: Prim, ins: &[Value]) -> Value {
    f.push1(prim, ins, None).unwrap_or_else(|e| panic!("bad test function: {e}"))
}

fn splat(f: &mut Function, v: f64, t: &str) -> Value {
    op(f, Prim::splat(v, &ty(t)), &[])
}

fn bin(f: &mut Function, o: BinaryOp, x: Value, y: Value) -> Value {
    op(f, Prim::Binary(o), &[x, y])
}

fn un(f: &mut Function, o: UnaryOp, x: Value) -> Value {
    op(f, Prim::Unary(o), &[x])
}

fn broadcast(shape: &[usize], dims: &[usize]) -> Prim {
    Prim::BroadcastInDim { shape: Shape::new(shape), dims: dims.iter().copied().collect() }
}

fn reshape(shape: &[usize]) -> Prim {
    Prim::Reshape { shape: Shape::new(shape) }
}

fn transpose(perm: &[usize]) -> Prim {
    Prim::Transpose { perm: perm.iter().copied().collect() }
}

/// A function of parameters of the given types, whose body `body` builds.
fn func(params: &[&str], body: impl FnOnce(&mut Function, &[Value]) -> Vec<Value>) -> Function {
    let mut f = Function::new();
    let ps: Vec<Value> = params.iter().map(|t| f.add_param(ty(t))).collect();
    f.outputs = body(&mut f, &ps);
    f
}

/// Checks that `f` verifies and is canonical: values numbered densely in definition order.
fn assert_valid(f: &Function) {
    if let Err(e) = gradjit_ir::verify(f) {
        panic!("{e}");
    }
    let binders = f.params.iter().chain(f.eqns.iter().flat_map(|e| e.outputs.iter()));
    assert!(binders.enumerate().all(|(i, v)| v.index() == i), "values are not numbered in definition order in\n{f}");
    assert_eq!(
        f.eqns.iter().map(|e| e.outputs.len()).sum::<usize>() + f.params.len(),
        f.num_values(),
        "unused values in\n{f}"
    );
    for e in &f.eqns {
        if let Prim::Call { body } = &e.prim {
            assert_valid(body);
        }
    }
}

/// Runs `pass`, checks the result is valid and has the same signature, and returns its text.
fn run(pass: fn(&Function) -> Function, f: &Function) -> String {
    assert_valid(f);
    let g = pass(f);
    assert_valid(&g);
    assert_eq!(g.param_types(), f.param_types());
    assert_eq!(g.output_types(), f.output_types());
    assert_eq!(pass(&g), g, "pass is not idempotent on\n{g}");
    g.to_string()
}

/// The expected text, written with one equation per line and no indentation.
fn text(lines: &[&str]) -> String {
    let (head, rest) = lines.split_first().unwrap();
    let (tail, eqns) = rest.split_last().unwrap();
    let mut s = format!("{head}\n");
    for e in eqns {
        s += &format!("    {e}\n");
    }
    s + "  " + tail
}

// ---------------------------------------------------------------------------------------------
// dce

#[test]
fn dce_removes_unused_equations_and_keeps_the_signature() {
    let f = func(&["f32[4]", "f32[4]"], |f, p| {
        let dead = bin(f, BinaryOp::Mul, p[0], p[1]);
        let _dead2 = un(f, UnaryOp::Exp, dead);
        let live = bin(f, BinaryOp::Add, p[0], p[0]);
        vec![live, p[1]]
    });
    assert_eq!(run(dce, &f), text(&["{ lambda ; a:f32[4] b:f32[4]. let", "c:f32[4] = add a a", "in (c, b) }"]));
}

#[test]
fn dce_keeps_a_function_with_only_dead_code_callable() {
    let f = func(&["f32[]"], |f, p| {
        un(f, UnaryOp::Sin, p[0]);
        vec![]
    });
    assert_eq!(run(dce, &f), text(&["{ lambda ; a:f32[]. let", "in () }"]));
}

#[test]
fn dce_prunes_call_outputs_and_parameters() {
    // body(a, b, c) = (a*b, exp c, sin a); the caller uses only the first output.
    let body = func(&["f32[3]", "f32[3]", "f32[3]"], |f, p| {
        let m = bin(f, BinaryOp::Mul, p[0], p[1]);
        let e = un(f, UnaryOp::Exp, p[2]);
        let s = un(f, UnaryOp::Sin, p[0]);
        vec![m, e, s]
    });
    let f = func(&["f32[3]", "f32[3]", "f32[3]"], |f, p| {
        let outs = f.push(Prim::Call { body: Arc::new(body.clone()) }, &[p[0], p[1], p[2]], None).unwrap();
        let unused = f.push(Prim::Call { body: Arc::new(body.clone()) }, &[p[2], p[1], p[0]], None).unwrap();
        let _ = unused;
        vec![outs[0]]
    });
    assert_eq!(
        run(dce, &f),
        text(&[
            "{ lambda ; a:f32[3] b:f32[3] c:f32[3]. let",
            "d:f32[3] = call[body={ lambda ; a:f32[3] b:f32[3]. let",
            "        c:f32[3] = mul a b",
            "      in (c,) }] a b",
            "in (d,) }",
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// cse

#[test]
fn cse_merges_equal_equations_and_commuted_operands() {
    let f = func(&["f32[4]", "f32[4]"], |f, p| {
        let m1 = bin(f, BinaryOp::Mul, p[0], p[1]);
        let m2 = bin(f, BinaryOp::Mul, p[1], p[0]);
        let s1 = bin(f, BinaryOp::Sub, p[0], p[1]);
        let s2 = bin(f, BinaryOp::Sub, p[1], p[0]);
        let e1 = un(f, UnaryOp::Exp, m1);
        let e2 = un(f, UnaryOp::Exp, m2);
        vec![e1, e2, s1, s2]
    });
    assert_eq!(
        run(cse, &f),
        text(&[
            "{ lambda ; a:f32[4] b:f32[4]. let",
            "c:f32[4] = mul a b",
            "d:f32[4] = sub a b",
            "e:f32[4] = sub b a",
            "f:f32[4] = exp c",
            "in (f, f, d, e) }",
        ])
    );
}

#[test]
fn cse_compares_literals_bitwise() {
    let f = func(&[], |f, _| {
        let lits = [0.0, -0.0, 0.0, f64::NAN, f64::NAN, 1.0];
        lits.iter().map(|&v| splat(f, v, "f32[2]")).collect()
    });
    assert_eq!(
        run(cse, &f),
        text(&[
            "{ lambda ; . let",
            "a:f32[2] = constant[value=0.0]",
            "b:f32[2] = constant[value=-0.0]",
            "c:f32[2] = constant[value=nan]",
            "d:f32[2] = constant[value=1.0]",
            "in (a, b, a, c, c, d) }",
        ])
    );
}

#[test]
fn cse_merges_random_bits_of_one_key_and_dense_constants() {
    let data = Arc::new(HostArray::from_vec([3], vec![1.0f32, 2.0, 3.0]).unwrap());
    let f = func(&["i64[]"], |f, p| {
        let bits = Prim::RandomBits { shape: Shape::new(&[2]), dtype: DType::I32 };
        let r1 = op(f, bits.clone(), &[p[0]]);
        let r2 = op(f, bits, &[p[0]]);
        let c1 = op(f, Prim::Constant(Literal::Dense(data.clone())), &[]);
        let c2 = op(f, Prim::Constant(Literal::Dense(Arc::new((*data).clone()))), &[]);
        vec![r1, r2, c1, c2]
    });
    let g = cse(&f);
    assert_valid(&g);
    assert_eq!(g.eqns.len(), 2);
    assert_eq!(g.outputs[0], g.outputs[1]);
    assert_eq!(g.outputs[2], g.outputs[3]);
}

// ---------------------------------------------------------------------------------------------
// algebraic: one test per rule family

#[test]
fn neutral_elements_disappear() {
    let f = func(&["f32[4]", "i32[4]", "bool[4]"], |f, p| {
        let (x, i, b) = (p[0], p[1], p[2]);
        let one = splat(f, 1.0, "f32[4]");
        let zero = splat(f, 0.0, "f32[4]");
        let neg_zero = splat(f, -0.0, "f32[4]");
        let t = splat(f, 1.0, "bool[4]");
        let i0 = splat(f, 0.0, "i32[4]");
        vec![
            bin(f, BinaryOp::Mul, x, one),      // x*1 == x
            bin(f, BinaryOp::Mul, one, x),      // 1*x == x
            bin(f, BinaryOp::Add, x, zero),     // x+0 == x
            bin(f, BinaryOp::Add, neg_zero, x), // -0+x == x
            bin(f, BinaryOp::Sub, x, zero),     // x-0 == x
            bin(f, BinaryOp::Div, x, one),      // x/1 == x
            bin(f, BinaryOp::Pow, x, one),      // pow(x, 1) == x
            bin(f, BinaryOp::And, b, t),        // b & true == b
            bin(f, BinaryOp::Or, i0, i),        // 0 | i == i
            bin(f, BinaryOp::Sub, zero, zero),  // 0-0 == 0 stays a constant
        ]
    });
    let g = passes::simplify(&f);
    assert_valid(&g);
    assert_eq!(
        g.outputs[..9],
        [
            g.params[0],
            g.params[0],
            g.params[0],
            g.params[0],
            g.params[0],
            g.params[0],
            g.params[0],
            g.params[2],
            g.params[1]
        ]
    );
}

#[test]
fn zero_times_x_folds_for_integers_only() {
    let f = func(&["i32[4]", "f32[4]"], |f, p| {
        let i0 = splat(f, 0.0, "i32[4]");
        let f0 = splat(f, 0.0, "f32[4]");
        vec![bin(f, BinaryOp::Mul, p[0], i0), bin(f, BinaryOp::Mul, f0, p[1])]
    });
    assert_eq!(
        run(algebraic, &f),
        text(&[
            "{ lambda ; a:i32[4] b:f32[4]. let",
            "c:i32[4] = constant[value=0]",
            "d:f32[4] = constant[value=0.0]",
            // nan*0 and inf*0 are nan: not folded.
            "e:f32[4] = mul d b",
            "in (c, e) }",
        ])
    );
}

#[test]
fn negations_cancel_and_merge_into_subtraction() {
    let f = func(&["f32[4]", "f32[4]"], |f, p| {
        let (x, y) = (p[0], p[1]);
        let nx = un(f, UnaryOp::Neg, x);
        let nnx = un(f, UnaryOp::Neg, nx);
        let ny = un(f, UnaryOp::Neg, y);
        let zero = splat(f, 0.0, "f32[4]");
        let minus_one = splat(f, -1.0, "f32[4]");
        vec![
            nnx,                                 // -(-x) == x
            bin(f, BinaryOp::Add, x, ny),        // x + (-y) == x - y
            bin(f, BinaryOp::Sub, x, ny),        // x - (-y) == x + y
            bin(f, BinaryOp::Sub, zero, y),      // 0 - y == -y
            bin(f, BinaryOp::Mul, minus_one, x), // -1 * x == -x
        ]
    });
    assert_eq!(
        passes::simplify(&f).to_string(),
        text(&[
            "{ lambda ; a:f32[4] b:f32[4]. let",
            // The first `neg a` (of `-(-x)`) is kept for `-1 * x`.
            "c:f32[4] = neg a",
            "d:f32[4] = neg b",
            "e:f32[4] = sub a b",
            "f:f32[4] = add a b",
            "in (a, e, f, d, c) }",
        ])
    );
}

#[test]
fn layout_chains_compose() {
    let f = func(&["f32[3]", "f32[2,3,4]"], |f, p| {
        let (x, y) = (p[0], p[1]);
        // broadcast of broadcast: (3,) -> (2, 3) -> (5, 2, 3)
        let b1 = op(f, broadcast(&[2, 3], &[1]), &[x]);
        let b2 = op(f, broadcast(&[5, 2, 3], &[1, 2]), &[b1]);
        // reshape of reshape
        let r1 = op(f, reshape(&[6, 4]), &[y]);
        let r2 = op(f, reshape(&[24]), &[r1]);
        // transpose of transpose
        let t1 = op(f, transpose(&[2, 0, 1]), &[y]);
        let t2 = op(f, transpose(&[0, 2, 1]), &[t1]);
        // transposes that cancel
        let t3 = op(f, transpose(&[1, 2, 0]), &[t1]);
        vec![b2, r2, t2, t3]
    });
    assert_eq!(
        run(passes::simplify, &f),
        text(&[
            "{ lambda ; a:f32[3] b:f32[2,3,4]. let",
            "c:f32[5,2,3] = broadcast_in_dim[shape=(5, 2, 3) broadcast_dimensions=(2,)] a",
            "d:f32[24] = reshape[shape=(24,)] b",
            "e:f32[4,3,2] = transpose[permutation=(2, 1, 0)] b",
            "in (c, d, e, b) }",
        ])
    );
}

#[test]
fn identity_layout_operations_disappear() {
    let f = func(&["f32[2,3]"], |f, p| {
        let x = p[0];
        let full_slice = Prim::Slice { start: smallvec![0, 0], limit: smallvec![2, 3], stride: smallvec![1, 1] };
        let pad0 = Prim::Pad {
            low: smallvec![0, 0],
            high: smallvec![0, 0],
            interior: smallvec![0, 0],
            value: Scalar::F32(0.0),
        };
        vec![
            op(f, broadcast(&[2, 3], &[0, 1]), &[x]),
            op(f, reshape(&[2, 3]), &[x]),
            op(f, transpose(&[0, 1]), &[x]),
            op(f, full_slice, &[x]),
            op(f, pad0, &[x]),
            op(f, Prim::Rev { axes: Axes::new() }, &[x]),
            op(f, Prim::Concatenate { axis: 1 }, &[x]),
            op(f, Prim::Reduce { op: ReduceOp::Max, axes: Axes::new() }, &[x]),
            op(f, Prim::ConvertElementType { dtype: DType::F32 }, &[x]),
            op(f, Prim::IntegerPow { y: 1 }, &[x]),
        ]
    });
    let g = passes::simplify(&f);
    assert_valid(&g);
    assert!(g.eqns.is_empty(), "{g}");
    assert!(g.outputs.iter().all(|&o| o == g.params[0]));
}

#[test]
fn splat_constants_pass_through_layout_operations() {
    let f = func(&["f32[]"], |f, p| {
        let c = splat(f, 2.0, "f32[3]");
        let b = op(f, broadcast(&[4, 3], &[1]), &[c]);
        let t = op(f, transpose(&[1, 0]), &[b]);
        let r = op(f, reshape(&[12]), &[t]);
        // A broadcast scalar parameter stays a broadcast through layout operations.
        let s = op(f, broadcast(&[4, 3], &[]), &[p[0]]);
        let st = op(f, transpose(&[1, 0]), &[s]);
        let sr = op(f, reshape(&[2, 6]), &[st]);
        vec![r, sr]
    });
    assert_eq!(
        run(passes::simplify, &f),
        text(&[
            "{ lambda ; a:f32[]. let",
            "b:f32[12] = constant[value=2.0]",
            "c:f32[2,6] = broadcast_in_dim[shape=(2, 6) broadcast_dimensions=()] a",
            "in (b, c) }",
        ])
    );
}

#[test]
fn select_with_a_known_predicate_or_equal_branches_is_a_branch() {
    let f = func(&["f32[3]", "f32[3]", "bool[3]"], |f, p| {
        let t = splat(f, 1.0, "bool[3]");
        let fl = splat(f, 0.0, "bool[3]");
        vec![
            op(f, Prim::Select, &[t, p[0], p[1]]),
            op(f, Prim::Select, &[fl, p[0], p[1]]),
            op(f, Prim::Select, &[p[2], p[1], p[1]]),
        ]
    });
    let g = passes::simplify(&f);
    assert!(g.eqns.is_empty(), "{g}");
    assert_eq!(g.outputs, [g.params[0], g.params[1], g.params[1]]);
}

#[test]
fn exact_conversion_round_trips_disappear() {
    let f = func(&["f32[3]", "f64[3]"], |f, p| {
        let up = op(f, Prim::ConvertElementType { dtype: DType::F64 }, &[p[0]]);
        let back = op(f, Prim::ConvertElementType { dtype: DType::F32 }, &[up]);
        // f64 -> f32 -> f64 rounds: it stays.
        let down = op(f, Prim::ConvertElementType { dtype: DType::F32 }, &[p[1]]);
        let up2 = op(f, Prim::ConvertElementType { dtype: DType::F64 }, &[down]);
        vec![back, up2]
    });
    let g = passes::simplify(&f);
    assert_eq!(g.outputs[0], g.params[0]);
    assert_eq!(g.eqns.len(), 2, "{g}");
}

#[test]
fn reductions_of_known_values_fold() {
    let f = func(&["f32[4,1,3]"], |f, p| {
        let zeros = splat(f, 0.0, "f32[1000,1000]");
        let sum_zeros = op(f, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![0] }, &[zeros]);
        let sevens = splat(f, 7.0, "f32[5,6]");
        let max = op(f, Prim::Reduce { op: ReduceOp::Max, axes: smallvec![0, 1] }, &[sevens]);
        // A sum over an axis of size 1 is a reshape.
        let unit = op(f, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![1] }, &[p[0]]);
        vec![sum_zeros, max, unit]
    });
    assert_eq!(
        run(passes::simplify, &f),
        text(&[
            "{ lambda ; a:f32[4,1,3]. let",
            "b:f32[1000] = constant[value=0.0]",
            "c:f32[] = constant[value=7.0]",
            "d:f32[4,3] = reshape[shape=(4, 3)] a",
            "in (b, c, d) }",
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// the pipeline

#[test]
fn simplify_cleans_up_a_typical_cotangent() {
    // What reverse mode emits for d/dx sum(x * w) with a seed of 1, unsimplified:
    // ct = broadcast(broadcast(1.0)); ct_x = (ct * w) + zeros; ct_w computed and dropped.
    let f = func(&["f32[8]", "f32[8]"], |f, p| {
        let (x, w) = (p[0], p[1]);
        let seed = splat(f, 1.0, "f32[]");
        let b1 = op(f, broadcast(&[1], &[]), &[seed]);
        let ct = op(f, broadcast(&[8], &[0]), &[b1]);
        let ct_x = bin(f, BinaryOp::Mul, ct, w);
        let zeros = splat(f, 0.0, "f32[8]");
        let acc = bin(f, BinaryOp::Add, zeros, ct_x);
        let _ct_w = bin(f, BinaryOp::Mul, x, ct);
        let again = bin(f, BinaryOp::Mul, w, ct);
        vec![acc, again]
    });
    let mut seen = Vec::new();
    let g = passes::simplify_observed(&f, &mut |name, _| seen.push(name.to_string()));
    assert_eq!(g.to_string(), text(&["{ lambda ; a:f32[8] b:f32[8]. let", "in (b, b) }"]));
    let names: Vec<&str> = passes::PIPELINE.iter().map(|(n, _)| *n).collect();
    assert_eq!(&seen[..names.len()], &names[..]);
    assert_eq!(seen.len() % names.len(), 0);
}

#[test]
fn passes_are_found_by_name() {
    for &(name, pass) in passes::PIPELINE {
        assert_eq!(passes::pass(name).map(|p| p as usize), Some(pass as usize));
    }
    assert!(passes::pass("nope").is_none());
}

// ---------------------------------------------------------------------------------------------
// fold

fn dense(t: &str, data: &[f32]) -> Prim {
    Prim::Constant(Literal::Dense(Arc::new(HostArray::from_slice(ty(t).shape, data).unwrap())))
}

#[test]
fn fold_evaluates_elementwise_operations_on_splats_as_splats() {
    let f = func(&[], |f, _| {
        let two = splat(f, 2.0, "f32[1000,1000]");
        let three = splat(f, 3.0, "f32[1000,1000]");
        let sum = bin(f, BinaryOp::Add, two, three);
        let zero = splat(f, 0.0, "f32[2]");
        vec![sum, un(f, UnaryOp::Neg, zero), un(f, UnaryOp::Exp, zero)]
    });
    assert_eq!(
        run(passes::fold::fold, &f),
        text(&[
            "{ lambda ; . let",
            "a:f32[1000,1000] = constant[value=2.0]",
            "b:f32[1000,1000] = constant[value=3.0]",
            "c:f32[1000,1000] = constant[value=5.0]",
            "d:f32[2] = constant[value=0.0]",
            "e:f32[2] = constant[value=-0.0]",
            "f:f32[2] = constant[value=1.0]",
            "in (c, e, f) }",
        ])
    );
}

#[test]
fn fold_keeps_dense_results_small() {
    let f = func(&[], |f, _| {
        let v = op(f, dense("f32[3]", &[1.0, 2.0, 3.0]), &[]);
        let one = splat(f, 1.0, "f32[3]");
        let small = bin(f, BinaryOp::Add, v, one);
        // 300 elements from 3: stays a broadcast.
        let big = op(f, broadcast(&[100, 3], &[1]), &[v]);
        // A reduction of a dense constant to a scalar folds.
        let total = op(f, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![0] }, &[v]);
        // Dense constants with equal elements become splats.
        let same = op(f, dense("f32[2]", &[4.0, 4.0]), &[]);
        vec![small, big, total, same]
    });
    assert_eq!(
        run(passes::fold::fold, &f),
        text(&[
            "{ lambda ; . let",
            "a:f32[3] = constant[value=[1.0 2.0 3.0]]",
            "b:f32[3] = constant[value=1.0]",
            "c:f32[3] = constant[value=[2.0 3.0 4.0]]",
            "d:f32[100,3] = broadcast_in_dim[shape=(100, 3) broadcast_dimensions=(1,)] a",
            "e:f32[] = constant[value=6.0]",
            "f:f32[2] = constant[value=4.0]",
            "in (c, d, e, f) }",
        ])
    );
}

#[test]
fn fold_keeps_dense_results_no_larger_than_dense_operands() {
    let data: Vec<f32> = (0..100).map(|i| i as f32).collect();
    let f = func(&[], |f, _| {
        let v = op(f, dense("f32[100]", &data), &[]);
        let two = splat(f, 2.0, "f32[100]");
        vec![bin(f, BinaryOp::Mul, v, two)]
    });
    let g = passes::fold::fold(&f);
    assert_valid(&g);
    let out = gradjit_ir::interp::run(&g, &[]).unwrap();
    assert_eq!(out[0].to_vec::<f32>().unwrap(), data.iter().map(|x| x * 2.0).collect::<Vec<_>>());
    let out_def = g.eqns.iter().find(|e| e.outputs[0] == g.outputs[0]).unwrap();
    assert!(matches!(out_def.prim, Prim::Constant(Literal::Dense(_))), "{g}");
}

#[test]
fn fold_random_bits_only_of_constant_keys() {
    let f = func(&["i64[]"], |f, p| {
        let bits = Prim::RandomBits { shape: Shape::new(&[4]), dtype: DType::I32 };
        let key = splat(f, 42.0, "i64[]");
        vec![op(f, bits.clone(), &[key]), op(f, bits, &[p[0]])]
    });
    let g = passes::fold::fold(&f);
    assert_valid(&g);
    let kinds: Vec<&str> = g.eqns.iter().map(|e| e.prim.name()).collect();
    assert_eq!(kinds, ["constant", "constant", "random_bits"], "{g}");
    let key = [HostArray::scalar(Scalar::I64(7))];
    assert_eq!(gradjit_ir::interp::run(&g, &key).unwrap(), gradjit_ir::interp::run(&f, &key).unwrap());
}

#[test]
fn fold_then_algebraic_removes_computed_identities() {
    // x * (2 - 1) == x * 1 == x; (x + (3 - 3)) == x
    let f = func(&["f64[5]"], |f, p| {
        let two = splat(f, 2.0, "f64[]");
        let one = splat(f, 1.0, "f64[]");
        let diff = bin(f, BinaryOp::Sub, two, one);
        let b = op(f, broadcast(&[5], &[]), &[diff]);
        let m = bin(f, BinaryOp::Mul, p[0], b);
        let three = splat(f, 3.0, "f64[5]");
        let z = bin(f, BinaryOp::Sub, three, three);
        vec![bin(f, BinaryOp::Add, m, z)]
    });
    assert_eq!(passes::simplify(&f).to_string(), text(&["{ lambda ; a:f64[5]. let", "in (a,) }"]));
}

// ---------------------------------------------------------------------------------------------
// simplify preserves semantics on random programs

mod random_programs {
    use super::*;
    use gradjit_ir::interp;
    use proptest::prelude::*;

    /// Constants the rules look for, and special values that break wrong rules.
    const SPECIAL: [f64; 8] = [0.0, 1.0, -1.0, 2.0, -0.0, 0.5, f64::INFINITY, f64::NAN];
    const SHAPES: [&[usize]; 6] = [&[], &[3], &[2, 3], &[1, 3], &[4, 1], &[2, 1, 3]];
    /// Programs stay small: no value has more elements than this.
    const MAX_NUMEL: usize = 48;

    /// Builds a function from a list of random steps; every step adds one or two equations.
    struct Gen {
        f: Function,
        pool: Vec<Value>,
        dtype: DType,
    }

    impl Gen {
        fn pick(&self, n: u16) -> Value {
            self.pool[n as usize % self.pool.len()]
        }

        fn push(&mut self, prim: Prim, ins: &[Value]) -> Option<Value> {
            let v = self.f.push1(prim, ins, None).ok()?;
            self.pool.push(v);
            Some(v)
        }

        fn constant(&mut self, seed: u16, t: &TensorType) -> Value {
            let v = SPECIAL[seed as usize % SPECIAL.len()];
            let v = if self.dtype.is_int() && !v.is_finite() { 3.0 } else { v };
            self.f.push1(Prim::splat(v, t), &[], None).expect("constant")
        }

        /// A value of the same type as `x`: another value of the pool or a constant.
        fn partner(&mut self, x: Value, seed: u16) -> Value {
            let same: Vec<Value> = self.pool.iter().copied().filter(|&v| self.f.ty(v) == self.f.ty(x)).collect();
            if seed.is_multiple_of(3) {
                same[seed as usize / 3 % same.len()]
            } else {
                let t = self.f.ty(x).clone();
                self.constant(seed / 3, &t)
            }
        }

        fn step(&mut self, kind: u8, a: u16, b: u16, c: u16) -> Option<Value> {
            // Half of the steps continue from the newest value, to build chains of operations.
            let x = if a & 1 == 0 { *self.pool.last().unwrap() } else { self.pick(a >> 1) };
            let t = self.f.ty(x).clone();
            let float = self.dtype.is_float();
            if !t.dtype.is_numeric() {
                return None; // a comparison repeated by the last step
            }
            match kind % 17 {
                0 if b & 0x100 != 0 => self.push(Prim::IntegerPow { y: i32::from(c % 5) - 1 }, &[x]),
                0 => {
                    let ops: &[UnaryOp] = if float {
                        &[UnaryOp::Neg, UnaryOp::Exp, UnaryOp::Sin, UnaryOp::Tanh, UnaryOp::Abs, UnaryOp::Log]
                    } else {
                        &[UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sign]
                    };
                    self.push(Prim::Unary(ops[b as usize % ops.len()]), &[x])
                }
                1 | 2 => {
                    let ops: &[BinaryOp] = if float {
                        &[BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Max, BinaryOp::Pow]
                    } else {
                        &[BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::And, BinaryOp::Or, BinaryOp::Min]
                    };
                    let y = self.partner(x, c);
                    let (l, r) = if b & 1 == 0 { (x, y) } else { (y, x) };
                    self.push(Prim::Binary(ops[(b >> 1) as usize % ops.len()]), &[l, r])
                }
                3 => {
                    // Insert a dimension of size 1..=3 at a random place.
                    let (p, n) = (b as usize % (t.rank() + 1), c as usize % 3 + 1);
                    if t.rank() >= 4 || t.numel() * n > MAX_NUMEL {
                        return None;
                    }
                    let mut dims = t.dims().to_vec();
                    dims.insert(p, n);
                    let map: Vec<usize> = (0..t.rank()).map(|i| if i < p { i } else { i + 1 }).collect();
                    self.push(broadcast(&dims, &map), &[x])
                }
                4 => {
                    let n = t.numel();
                    let dims: Vec<usize> = match b % 3 {
                        0 => vec![n],
                        1 => [&[1], t.dims()].concat(),
                        _ if n.is_multiple_of(2) => vec![2, n / 2],
                        _ => vec![n, 1],
                    };
                    self.push(reshape(&dims), &[x])
                }
                5 => {
                    let mut perm: Vec<usize> = (0..t.rank()).collect();
                    if !perm.is_empty() {
                        let len = perm.len();
                        perm.rotate_left(b as usize % len);
                        if c & 1 == 1 && len > 1 {
                            perm.swap(0, 1);
                        }
                    }
                    self.push(transpose(&perm), &[x])
                }
                6 => {
                    let axes: Axes = (0..t.rank()).filter(|i| b >> i & 1 == 1).collect();
                    let ops = [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min];
                    self.push(Prim::Reduce { op: ops[c as usize % 3], axes }, &[x])
                }
                7 => {
                    let y = self.partner(x, b);
                    let pred = self.f.push1(Prim::Compare(gradjit_ir::CompareOp::Lt), &[x, y], None).ok()?;
                    let pred = if c.is_multiple_of(4) { self.constant_pred(c, &t) } else { pred };
                    self.push(Prim::Select, &[pred, x, y])
                }
                8 => {
                    let (wide, back) = match (self.dtype, b % 3) {
                        (DType::F32, 0) => (DType::F64, DType::F32),
                        (DType::F32, 1) => (DType::F32, DType::F32),
                        (DType::F32, _) => (DType::I32, DType::F32),
                        (_, 0) => (DType::I64, DType::I32),
                        (_, 1) => (DType::F64, DType::I32),
                        _ => (DType::F32, DType::I32),
                    };
                    let w = self.f.push1(Prim::ConvertElementType { dtype: wide }, &[x], None).ok()?;
                    self.push(Prim::ConvertElementType { dtype: back }, &[w])
                }
                9 => {
                    let c = self.constant(b, &t);
                    self.pool.push(c);
                    Some(c)
                }
                10 => {
                    let data: Vec<f64> = (0..t.numel()).map(|i| SPECIAL[(b as usize + i * c as usize) % 6]).collect();
                    let mut a = HostArray::zeros(self.dtype, t.shape.clone());
                    for (i, &v) in data.iter().enumerate() {
                        a.set(i, Scalar::F64(v));
                    }
                    self.push(Prim::Constant(Literal::Dense(Arc::new(a))), &[])
                }
                11 => {
                    // Slice: the full range or drop the first element of each dimension.
                    let start: Axes = t.dims().iter().map(|&d| usize::from(b & 1 == 1 && d > 1)).collect();
                    let limit: Axes = t.dims().iter().copied().collect();
                    let stride: Axes = t.dims().iter().map(|_| 1 + (c as usize % 2)).collect();
                    self.push(Prim::Slice { start, limit, stride }, &[x])
                }
                13 => {
                    // Contract one axis of x with a constant matrix (often ones), on either side.
                    let axis = b as usize % t.rank().max(1);
                    let n = *t.dims().get(axis)?;
                    let m = c as usize % 3 + 1;
                    if t.numel() / n.max(1) * m > MAX_NUMEL {
                        return None;
                    }
                    let y = self.constant(c / 3, &TensorType::new(self.dtype, [n, m]));
                    let dims = |x_axis: usize, y_axis: usize| gradjit_ir::DotDims {
                        lhs_contract: smallvec![x_axis],
                        rhs_contract: smallvec![y_axis],
                        lhs_batch: Axes::new(),
                        rhs_batch: Axes::new(),
                    };
                    if b & 0x100 == 0 {
                        self.push(Prim::DotGeneral(dims(axis, 0)), &[x, y])
                    } else {
                        self.push(Prim::DotGeneral(dims(0, axis)), &[y, x])
                    }
                }
                14 => {
                    // A call of a one-equation body, which also returns one operand unchanged.
                    let y = self.partner(x, c);
                    let body = Arc::new(self.branch(&t, b, b & 0x200 != 0));
                    let outs = self.f.push(Prim::Call { body }, &[x, y], None).ok()?;
                    self.pool.extend(&outs);
                    outs.last().copied()
                }
                15 => {
                    // A cond on a constant index or on the sign of a reduction of x.
                    let y = self.partner(x, c);
                    let index = if c & 1 == 0 {
                        let t = TensorType::scalar(DType::I32);
                        self.f.push1(Prim::splat(f64::from(c >> 1 & 3) - 1.0, &t), &[], None).ok()?
                    } else {
                        let axes: Axes = (0..t.rank()).collect();
                        let r = self.f.push1(Prim::Reduce { op: ReduceOp::Max, axes }, &[x], None).ok()?;
                        let rt = self.f.ty(r).clone();
                        let zero = self.constant(0, &rt);
                        self.f.push1(Prim::Compare(gradjit_ir::CompareOp::Gt), &[r, zero], None).ok()?
                    };
                    let branches = vec![Arc::new(self.branch(&t, b, true)), Arc::new(self.branch(&t, b >> 3, true))];
                    let outs = self.f.push(Prim::Cond { branches }, &[index, x, y], None).ok()?;
                    self.pool.extend(&outs);
                    outs.last().copied()
                }
                _ => {
                    // Repeat an earlier equation, maybe with its operands swapped (for CSE).
                    let e = self.f.eqns.get(b as usize % self.f.eqns.len().max(1))?.clone();
                    let mut inputs = e.inputs.clone();
                    if c & 1 == 1 && inputs.len() == 2 {
                        inputs.swap(0, 1);
                    }
                    self.push(e.prim, &inputs)
                }
            }
        }

        /// A function `(x, y) -> (x op y, x)` or `(x, y) -> (x op y)` on values of type `t`, with
        /// `op` picked by `seed` among operations the rules rewrite.
        fn branch(&self, t: &TensorType, seed: u16, forward: bool) -> Function {
            let mut f = Function::new();
            let (x, y) = (f.add_param(t.clone()), f.add_param(t.clone()));
            let ops = [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Sub, BinaryOp::Max];
            let one = f.push1(Prim::splat(1.0, t), &[], None).expect("constant");
            let z = match seed % 6 {
                4 => f.push1(Prim::Binary(BinaryOp::Mul), &[x, one], None),
                5 => f.push1(Prim::Unary(UnaryOp::Neg), &[y], None),
                k => f.push1(Prim::Binary(ops[k as usize]), &[x, y], None),
            };
            f.outputs = std::iter::once(z.expect("branch")).chain(forward.then_some(x)).collect();
            f
        }

        fn constant_pred(&mut self, c: u16, t: &TensorType) -> Value {
            self.f.push1(Prim::splat(f64::from(c / 4 % 2), &t.with_dtype(DType::Bool)), &[], None).unwrap()
        }
    }

    fn program(int: bool, shapes: &[u8], steps: &[(u8, u16, u16, u16)], outs: &[u16]) -> Function {
        let dtype = if int { DType::I32 } else { DType::F32 };
        let mut g = Gen { f: Function::new(), pool: Vec::new(), dtype };
        for &s in shapes {
            let p = g.f.add_param(TensorType::new(dtype, SHAPES[s as usize % SHAPES.len()]));
            g.pool.push(p);
        }
        for &(kind, a, b, c) in steps {
            g.step(kind, a, b, c);
        }
        // Every value no equation reads is an output, so that every computation is checked.
        let uses = g.f.use_counts();
        let sinks = g.pool.iter().copied().filter(|v| uses[v.index()] == 0);
        g.f.outputs = sinks.chain(outs.iter().map(|&o| g.pick(o))).collect();
        g.f
    }

    fn argument(t: &TensorType, seeds: &[u32]) -> HostArray {
        let mut a = HostArray::zeros(t.dtype, t.shape.clone());
        for i in 0..a.numel() {
            let s = seeds[i % seeds.len()].wrapping_mul(2654435761).wrapping_add(i as u32);
            let v = if s.is_multiple_of(5) {
                SPECIAL[(s / 5) as usize % SPECIAL.len()]
            } else {
                f64::from(s % 1000) / 125.0 - 4.0
            };
            let v = if t.dtype.is_int() && !v.is_finite() { -7.0 } else { v };
            a.set(i, Scalar::F64(v));
        }
        a
    }

    /// Runs `f` with the reference interpreter and also returns, for each output, which
    /// elements depend on the sign of a zero: the passes treat zeros as unsigned (see
    /// `passes/algebraic.rs`), so only the other elements must agree after simplification.
    /// An element depends on a zero's sign if it is computed from a division (or `pow`,
    /// `integer_pow` with a negative exponent) by a zero, directly or through other operations.
    fn run_with_sign_dependence(f: &Function, args: &[HostArray]) -> (Vec<HostArray>, Vec<HostArray>) {
        let clean = |a: &HostArray| HostArray::zeros(DType::Bool, a.shape().clone());
        let args: Vec<(HostArray, HostArray)> = args.iter().map(|a| (a.clone(), clean(a))).collect();
        eval_flagged(f, &args).into_iter().unzip()
    }

    /// Runs `f` on values paired with their flags: which elements depend on the sign of a zero.
    fn eval_flagged(f: &Function, args: &[(HostArray, HostArray)]) -> Vec<(HostArray, HostArray)> {
        let mut env: Vec<Option<(HostArray, HostArray)>> = vec![None; f.num_values()];
        for (&p, a) in f.params.iter().zip(args) {
            env[p.index()] = Some(a.clone());
        }
        for e in &f.eqns {
            let ins: Vec<(HostArray, HostArray)> = e.inputs.iter().map(|v| env[v.index()].clone().unwrap()).collect();
            for (&o, out) in e.outputs.iter().zip(eval_eqn_flagged(&e.prim, &ins)) {
                env[o.index()] = Some(out);
            }
        }
        f.outputs.iter().map(|o| env[o.index()].clone().unwrap()).collect()
    }

    fn eval_eqn_flagged(prim: &Prim, ins: &[(HostArray, HostArray)]) -> Vec<(HostArray, HostArray)> {
        let dirty = |m: &HostArray| m.scalars().any(|b| b == Scalar::Bool(true));
        let values: Vec<&HostArray> = ins.iter().map(|(v, _)| v).collect();
        let masks: Vec<&HostArray> = ins.iter().map(|(_, m)| m).collect();
        let flags = |a: &HostArray, on: bool| HostArray::full(Scalar::Bool(on), a.shape().clone());
        match prim {
            Prim::Call { body } => return eval_flagged(body, ins),
            Prim::Cond { branches } => {
                let k = interp::branch_index(values[0], branches.len());
                let outs = eval_flagged(&branches[k], &ins[1..]);
                // An index that depends on a zero's sign could have chosen another branch.
                if dirty(masks[0]) {
                    return outs.into_iter().map(|(v, _)| (flags(&v, true), v)).map(|(m, v)| (v, m)).collect();
                }
                return outs;
            }
            _ => {}
        }
        let out = interp::apply(prim, &values).unwrap_or_else(|err| panic!("{err}")).remove(0);
        let mask = if ins.is_empty() {
            flags(&out, false)
        } else if prim.is_elementwise() {
            let sign_sensitive =
                matches!(prim, Prim::Binary(BinaryOp::Div | BinaryOp::Pow) | Prim::IntegerPow { y: ..0 });
            let mut m = flags(&out, false);
            for i in 0..m.numel() {
                let dirty = masks.iter().any(|m| m.get(i) == Scalar::Bool(true))
                    || (sign_sensitive && values.iter().any(|a| a.dtype().is_float() && a.get(i).to_f64() == 0.0));
                m.set(i, Scalar::Bool(dirty));
            }
            m
        } else if let Prim::Reduce { axes, .. } = prim {
            interp::apply(&Prim::Reduce { op: ReduceOp::Max, axes: axes.clone() }, &masks).unwrap().remove(0)
        } else if ins.len() == 1 {
            // A layout operation moves the flags with the data.
            interp::apply(prim, &masks).unwrap().remove(0)
        } else {
            // A contraction mixes everything.
            flags(&out, masks.iter().any(|m| dirty(m)))
        };
        vec![(out, mask)]
    }

    /// Equal up to NaN payloads and the sign of zero, except where `ignore` is set.
    fn same(a: &HostArray, b: &HostArray, ignore: &HostArray) -> bool {
        a.ty() == b.ty()
            && (0..a.numel()).all(|i| {
                let (x, y) = (a.get(i).to_f64(), b.get(i).to_f64());
                x == y || (x.is_nan() && y.is_nan()) || ignore.get(i) == Scalar::Bool(true)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn simplify_preserves_results(
            int in any::<bool>(),
            shapes in prop::collection::vec(any::<u8>(), 1..4),
            steps in prop::collection::vec(any::<(u8, u16, u16, u16)>(), 1..24),
            outs in prop::collection::vec(any::<u16>(), 0..3),
            seeds in prop::collection::vec(any::<u32>(), 1..8),
        ) {
            let f = program(int, &shapes, &steps, &outs);
            assert_valid(&f);
            let g = passes::simplify(&f);
            assert_valid(&g);
            prop_assert!(g.eqns.len() <= f.eqns.len(), "simplify grew\n{f}\ninto\n{g}");
            prop_assert_eq!(passes::simplify(&g), g.clone(), "simplify is not idempotent");
            let args: Vec<HostArray> = f.param_types().iter().map(|t| argument(t, &seeds)).collect();
            let (want, sign_dependent) = run_with_sign_dependence(&f, &args);
            let got = interp::run(&g, &args).unwrap();
            for (i, ((w, o), m)) in want.iter().zip(&got).zip(&sign_dependent).enumerate() {
                prop_assert!(same(w, o, m), "output {i} differs: {w:?} vs {o:?}\n{f}\nsimplified to\n{g}\nargs {args:?}");
            }
        }
    }
}

#[test]
fn simplify_handles_long_functions_quickly() {
    // 40,000 equations: alternating negations (which cancel) and additions of a zero.
    let f = func(&["f32[16]"], |f, p| {
        let zero = splat(f, 0.0, "f32[16]");
        let mut x = p[0];
        for i in 0..20_000 {
            x = if i % 2 == 0 { un(f, UnaryOp::Neg, x) } else { bin(f, BinaryOp::Add, x, zero) };
            x = un(f, UnaryOp::Neg, x);
        }
        vec![x]
    });
    let start = std::time::Instant::now();
    let g = passes::simplify(&f);
    let elapsed = start.elapsed();
    assert_valid(&g);
    assert_eq!(g.to_string(), text(&["{ lambda ; a:f32[16]. let", "in (a,) }"]));
    assert!(elapsed.as_secs_f64() < 2.0, "simplify took {elapsed:?}");
}
