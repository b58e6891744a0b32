//! `vmap`: random programs batched over random axes agree with their lanes; batching composes
//! with differentiation both ways (`vmap(grad f)` is per-example gradients, `grad` of a batched
//! sum is their stack); collectives; nested maps with two axis names; the control-flow rules
//! that change the program's structure (a `while` on a batched condition, a `cond` on a batched
//! index, a `scan` whose carry becomes batched); and the errors.
//!
//! Each primitive's rule alone (and those of its JVP and VJP) is checked by `rules.rs`.

mod common;
mod lanes;

use common::{assert_all_close, f64s, parse, run, sample, Domain, Rng};
use gradjit_autodiff::{grad, vmap};
use gradjit_ir::{
    Axes, BinaryOp, DType, DotDims, Function, HostArray, Prim, ReduceOp, Shape, TensorType, UnaryOp, Value,
};
use lanes::{check_lanes, lane, stack};
use proptest::prelude::*;
use smallvec::smallvec;
use std::sync::Arc;

const DIMS: [usize; 2] = [2, 3];

fn push(f: &mut Function, prim: Prim, ins: &[Value]) -> Value {
    f.push1(prim, ins, None).expect("well-typed random program")
}

/// A random program over `f64[2,3]` values (two parameters, an `i32[2]` index parameter) with
/// a scalar loss first: elementwise ops, reductions broadcast back, a matrix product, gathers,
/// transposes, calls, a scan and a psum over the mapped axis.
fn program(rng: &mut Rng) -> Function {
    let mut f = Function::new();
    let ty = TensorType::new(DType::F64, DIMS);
    let mut values = vec![f.add_param(ty.clone()), f.add_param(ty.clone())];
    let idx = f.add_param(TensorType::new(DType::I32, [2]));
    for _ in 0..3 + rng.below(8) {
        let pick = |rng: &mut Rng| values[values.len() - 1 - rng.below(values.len().min(4) as u64) as usize];
        let (a, b) = (pick(rng), pick(rng));
        let v = match rng.below(12) {
            0 => push(&mut f, Prim::Unary(UnaryOp::Sin), &[a]),
            1 => push(&mut f, Prim::Unary(UnaryOp::Tanh), &[a]),
            2 => push(&mut f, Prim::Binary(BinaryOp::Add), &[a, b]),
            3 => push(&mut f, Prim::Binary(BinaryOp::Mul), &[a, b]),
            4 => {
                let rows = push(&mut f, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![1] }, &[a]);
                push(&mut f, Prim::BroadcastInDim { shape: Shape::new(&DIMS), dims: smallvec![0] }, &[rows])
            }
            5 => {
                // (a · bᵀ) · a: a 2×2 product, then back to 2×3.
                let dims = |lc: usize, rc: usize| DotDims {
                    lhs_contract: smallvec![lc],
                    rhs_contract: smallvec![rc],
                    lhs_batch: Axes::new(),
                    rhs_batch: Axes::new(),
                };
                let m = push(&mut f, Prim::DotGeneral(dims(1, 1)), &[a, b]);
                push(&mut f, Prim::DotGeneral(dims(1, 0)), &[m, a])
            }
            6 => {
                // Rows picked by the index parameter.
                push(&mut f, Prim::Gather { axis: 0 }, &[a, idx])
            }
            7 => {
                let t = push(&mut f, Prim::Transpose { perm: smallvec![1, 0] }, &[a]);
                let r = push(&mut f, Prim::Rev { axes: smallvec![0] }, &[t]);
                push(&mut f, Prim::Reshape { shape: Shape::new(&DIMS) }, &[r])
            }
            8 => push(&mut f, Prim::Collective { op: gradjit_ir::CollectiveOp::Psum, axis_name: "b".into() }, &[a]),
            9 => {
                let mut body = Function::new();
                let (x, y) = (body.add_param(ty.clone()), body.add_param(ty.clone()));
                let s = push(&mut body, Prim::Unary(UnaryOp::Cos), &[x]);
                let m = push(&mut body, Prim::Binary(BinaryOp::Mul), &[s, y]);
                body.outputs.push(m);
                push(&mut f, Prim::Call { body: Arc::new(body) }, &[a, b])
            }
            10 => {
                // A scan over the rows of `a` carrying a running product with `b`'s first row.
                let row = TensorType::new(DType::F64, [3]);
                let mut body = Function::new();
                let (c, x) = (body.add_param(row.clone()), body.add_param(row.clone()));
                let m = push(&mut body, Prim::Binary(BinaryOp::Mul), &[c, x]);
                let s = push(&mut body, Prim::Unary(UnaryOp::Sin), &[m]);
                body.outputs = vec![s, m];
                let start = Prim::Slice { start: smallvec![0, 0], limit: smallvec![1, 3], stride: smallvec![1, 1] };
                let first = push(&mut f, start, &[b]);
                let first = push(&mut f, Prim::Reshape { shape: Shape::new(&[3]) }, &[first]);
                let scan = Prim::Scan { length: 2, reverse: false, num_consts: 0, num_carry: 1, body: Arc::new(body) };
                f.push(scan, &[first, a], None).expect("well-typed scan")[1]
            }
            _ => push(&mut f, Prim::Binary(BinaryOp::Max), &[a, b]),
        };
        values.push(v);
    }
    let last = *values.last().expect("at least the parameters");
    let loss = push(&mut f, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![0, 1] }, &[last]);
    f.outputs = vec![loss, last];
    f
}

/// Inputs for `lanes` lanes: mapped parameters differ per lane, unmapped ones are shared.
fn lane_inputs(rng: &mut Rng, f: &Function, in_axes: &[Option<usize>], n: usize) -> Vec<Vec<HostArray>> {
    let draw = |rng: &mut Rng, v: Value| {
        let ty = f.ty(v);
        sample(rng, ty, if ty.dtype.is_int() { Domain::Index(2) } else { Domain::Any })
    };
    let shared: Vec<HostArray> = f.params.iter().map(|&v| draw(rng, v)).collect();
    (0..n)
        .map(|_| {
            f.params
                .iter()
                .enumerate()
                .map(|(i, &v)| if in_axes[i].is_some() { draw(rng, v) } else { shared[i].clone() })
                .collect()
        })
        .collect()
}

fn random_axes(rng: &mut Rng, f: &Function, values: &[Value], none: bool) -> Vec<Option<usize>> {
    values
        .iter()
        .map(|&v| match rng.below(if none { 3 } else { 2 }) {
            0 => Some(0),
            1 => Some(f.ty(v).rank()),
            _ => None,
        })
        .collect()
}

/// A program without collectives is checked against its lanes, and so is its gradient (per-example
/// gradients); one with a psum over `b` against the lanes run in lockstep.
fn check_random(seed: u64) {
    let mut rng = Rng::new(seed);
    let f = program(&mut rng);
    let has_psum = f.eqns.iter().any(|e| matches!(e.prim, Prim::Collective { .. }));
    let in_axes = random_axes(&mut rng, &f, &f.params, true);
    let out_axes = random_axes(&mut rng, &f, &f.outputs, false);
    let n = 1 + rng.below(3) as usize;
    let lanes = lane_inputs(&mut rng, &f, &in_axes, n);
    if !has_psum {
        // vmap(f) and vmap(grad f) (per-example gradients) against each lane.
        check_lanes(&f, &in_axes, &out_axes, Some("b"), &lanes, &format!("seed {seed}: f"));
        let g = grad(&f, &[0, 1]).expect("grad");
        let g_out = random_axes(&mut rng, &g, &g.outputs, false);
        check_lanes(&g, &in_axes, &g_out, Some("b"), &lanes, &format!("seed {seed}: grad f"));
        return;
    }
    let batched = vmap(&f, &in_axes, &out_axes, Some("b"), n).expect("vmap with psum");
    gradjit_ir::verify(&batched).expect("verifies");
    let args: Vec<HostArray> = (0..f.params.len())
        .map(|p| match in_axes[p] {
            Some(a) => stack(&lanes.iter().map(|l| l[p].clone()).collect::<Vec<_>>(), a),
            None => lanes[0][p].clone(),
        })
        .collect();
    let got = run(&batched, &args);
    let want = lane_by_lane_with_collectives(&f, &lanes);
    for (i, w) in want.iter().enumerate() {
        for (o, w) in w.iter().enumerate() {
            let y = lane(&got[o], out_axes[o].expect("mapped"), i);
            assert_all_close(&y, w, 1e-12, &format!("seed {seed}: lane {i} output {o}\n{f}\n{batched}"));
        }
    }
}

/// The oracle for programs with `psum[b]`: every lane is interpreted in lockstep, equation by
/// equation, and a psum adds the lanes' operands.
fn lane_by_lane_with_collectives(f: &Function, lanes: &[Vec<HostArray>]) -> Vec<Vec<HostArray>> {
    let mut envs: Vec<Vec<Option<HostArray>>> = lanes
        .iter()
        .map(|args| {
            let mut env = vec![None; f.num_values()];
            for (&p, a) in f.params.iter().zip(args) {
                env[p.index()] = Some(a.clone());
            }
            env
        })
        .collect();
    for e in &f.eqns {
        let outs: Vec<Vec<HostArray>> = if let Prim::Collective { .. } = e.prim {
            let xs: Vec<&HostArray> =
                envs.iter().map(|env| env[e.inputs[0].index()].as_ref().expect("defined")).collect();
            let mut total = xs[0].clone();
            for x in &xs[1..] {
                total = gradjit_ir::interp::apply(&Prim::Binary(BinaryOp::Add), &[&total, x]).expect("add")[0].clone();
            }
            envs.iter().map(|_| vec![total.clone()]).collect()
        } else {
            envs.iter()
                .map(|env| {
                    let ins: Vec<&HostArray> =
                        e.inputs.iter().map(|v| env[v.index()].as_ref().expect("defined")).collect();
                    gradjit_ir::interp::apply(&e.prim, &ins).expect("apply").to_vec()
                })
                .collect()
        };
        for (env, outs) in envs.iter_mut().zip(outs) {
            for (&o, a) in e.outputs.iter().zip(outs) {
                env[o.index()] = Some(a);
            }
        }
    }
    envs.iter().map(|env| f.outputs.iter().map(|o| env[o.index()].clone().expect("defined")).collect()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_batch_like_their_lanes(seed in any::<u64>()) {
        check_random(seed);
    }
}

/// `grad` of the sum over lanes of `vmap(f)` is the stack of the lanes' gradients: batching
/// commutes with reverse mode.
#[test]
fn grad_of_a_batched_sum_is_the_stack_of_per_example_gradients() {
    let mut rng = Rng::new(11);
    for _ in 0..16 {
        let f = program(&mut rng);
        if f.eqns.iter().any(|e| matches!(e.prim, Prim::Collective { .. })) {
            continue;
        }
        let n = 3;
        let batched = vmap(&f, &[Some(0), None, None], &[Some(0), Some(0)], None, n).unwrap();
        // total(x, w, i) = Σ_lanes loss
        let mut total = Function::new();
        let ps: Vec<Value> = batched.params.iter().map(|&p| total.add_param(batched.ty(p).clone())).collect();
        let outs = total.push(Prim::Call { body: Arc::new(batched.clone()) }, &ps, None).unwrap();
        let sum = push(&mut total, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![0] }, &[outs[0]]);
        total.outputs = vec![sum];
        let g_total = grad(&total, &[0]).unwrap();
        let per_example =
            vmap(&grad(&f, &[0]).unwrap(), &[Some(0), None, None], &[Some(0), Some(0), Some(0)], None, n).unwrap();
        let lanes = lane_inputs(&mut rng, &f, &[Some(0), None, None], n);
        let args = vec![
            stack(&lanes.iter().map(|l| l[0].clone()).collect::<Vec<_>>(), 0),
            lanes[0][1].clone(),
            lanes[0][2].clone(),
        ];
        let a = run(&g_total, &args);
        let b = run(&per_example, &args);
        assert_all_close(&a[1], &b[2], 1e-12, &format!("grad of the batched sum vs vmap(grad)\n{f}"));
    }
}

#[test]
fn psum_pmean_pmax_pmin_reduce_over_the_mapped_axis() {
    let xs = f64s(&[4], &[1.0, -2.0, 5.0, 0.5]);
    for (op, want) in [("psum", 4.5), ("pmean", 1.125), ("pmax", 5.0), ("pmin", -2.0)] {
        let f = parse(&format!("{{ lambda ; a:f64[]. let b:f64[] = {op}[axis_name=i] a in (b,) }}"));
        let mapped = run(&vmap(&f, &[Some(0)], &[None], Some("i"), 4).unwrap(), std::slice::from_ref(&xs));
        assert_eq!(mapped[0].to_vec::<f64>().unwrap(), vec![want], "{op}");
        // Over an unmapped operand every lane holds the same value.
        let shared = run(&vmap(&f, &[None], &[None], Some("i"), 4).unwrap(), &[f64s(&[], &[1.5])]);
        let want = if op == "psum" { 6.0 } else { 1.5 };
        assert_eq!(shared[0].to_vec::<f64>().unwrap(), vec![want], "{op} of an unmapped value");
    }
}

/// `vmap(vmap(f, axis_name=j), axis_name=i)`: the inner map leaves `psum[i]` to the outer one.
#[test]
fn nested_maps_reduce_over_their_own_names() {
    let f = parse(
        "{ lambda ; a:f64[]. let
            b:f64[] = psum[axis_name=i] a
            c:f64[] = psum[axis_name=j] a
            d:f64[] = mul b c
          in (d,) }",
    );
    let inner = vmap(&f, &[Some(0)], &[Some(0)], Some("j"), 3).unwrap();
    let outer = vmap(&inner, &[Some(0)], &[Some(0)], Some("i"), 2).unwrap();
    let x = f64s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let out = first(run(&outer, &[x]));
    // Lane (r, c): (column sum over rows r) · (row sum over columns c).
    let (col, row) = ([5.0, 7.0, 9.0], [6.0, 15.0]);
    let want: Vec<f64> = (0..2).flat_map(|r| (0..3).map(move |c| col[c] * row[r])).collect();
    assert_eq!(out, want);
}

/// The f64 data of the first output.
fn first(out: Vec<HostArray>) -> Vec<f64> {
    out[0].to_vec::<f64>().expect("f64 output")
}

#[test]
fn a_while_on_a_batched_condition_runs_each_lane_to_its_own_end() {
    // Doubles x until it reaches 10.
    let f = parse(
        "{ lambda ; a:f64[]. let
            b:f64[] = while[cond_consts=0 body_consts=0 cond={ lambda ; a:f64[]. let
                    b:f64[] = constant[value=10.0]
                    c:bool[] = lt a b
                  in (c,) } body={ lambda ; a:f64[]. let b:f64[] = add a a in (b,) }] a
          in (b,) }",
    );
    let lanes: Vec<Vec<HostArray>> = [0.3, 3.0, 12.0, 9.0].iter().map(|&x| vec![f64s(&[], &[x])]).collect();
    let g = check_lanes(&f, &[Some(0)], &[Some(0)], None, &lanes, "while");
    let out = first(run(&g, &[f64s(&[4], &[0.3, 3.0, 12.0, 9.0])]));
    assert_eq!(out, vec![19.2, 12.0, 12.0, 18.0]);
}

#[test]
fn a_cond_on_a_batched_index_selects_each_lanes_branch() {
    let f = parse(
        "{ lambda ; i:i32[] a:f64[2]. let
            b:f64[2] = cond[branches=(
                { lambda ; a:f64[2]. let b:f64[2] = sin a in (b,) },
                { lambda ; a:f64[2]. let b:f64[2] = cos a in (b,) },
                { lambda ; a:f64[2]. let b:f64[2] = neg a in (b,) })] i a
          in (b,) }",
    );
    // Indices out of range are clamped, as cond clamps them.
    let lanes: Vec<Vec<HostArray>> = [-1, 0, 1, 2, 7]
        .iter()
        .map(|&i| vec![HostArray::from_vec([], vec![i]).unwrap(), f64s(&[2], &[0.5, -1.0])])
        .collect();
    check_lanes(&f, &[Some(0), None], &[Some(0)], None, &lanes, "cond, batched index");
    let lanes: Vec<Vec<HostArray>> = [0, 2]
        .iter()
        .map(|&i| vec![HostArray::from_vec([], vec![1]).unwrap(), f64s(&[2], &[0.5 * i as f64, -1.0])])
        .collect();
    check_lanes(&f, &[None, Some(1)], &[Some(1)], None, &lanes, "cond, batched operand");
}

#[test]
fn a_scan_carry_becomes_batched_when_a_step_mixes_in_a_mapped_input() {
    // The carry starts unmapped (a constant) and picks up the mapped xs at the first step.
    let f = parse(
        "{ lambda ; a:f64[] b:f64[4]. let
            c:f64[] d:f64[4] = scan[length=4 reverse=true num_consts=0 num_carry=1 body={ lambda ; a:f64[] b:f64[]. let
                    c:f64[] = mul a b
                    d:f64[] = sin c
                  in (d, c) }] a b
          in (c, d) }",
    );
    let lanes: Vec<Vec<HostArray>> =
        (0..3).map(|k| vec![f64s(&[], &[1.5]), f64s(&[4], &[0.1 * k as f64, 0.5, -0.7, 1.1])]).collect();
    check_lanes(&f, &[None, Some(1)], &[Some(0), Some(1)], None, &lanes, "scan");
}

#[test]
fn gathers_scatters_and_dynamic_slices_with_per_lane_indices() {
    let f = parse(
        "{ lambda ; a:f64[5,2] i:i32[3] j:i32[]. let
            b:f64[3,2] = gather[axis=0] a i
            c:f64[2,2] = dynamic_slice[sizes=(2, 2)] a j j
            d:f64[5,2] = scatter_add[axis=0] a i b
            e:f64[5,2] = dynamic_update_slice a c j j
          in (b, c, d, e) }",
    );
    let mut rng = Rng::new(5);
    let lanes: Vec<Vec<HostArray>> = (0..3)
        .map(|_| {
            vec![
                sample(&mut rng, &TensorType::new(DType::F64, [5, 2]), Domain::Any),
                sample(&mut rng, &TensorType::new(DType::I32, [3]), Domain::Index(7)),
                sample(&mut rng, &TensorType::new(DType::I32, []), Domain::Index(5)),
            ]
        })
        .collect();
    check_lanes(
        &f,
        &[Some(0), Some(0), Some(0)],
        &[Some(0), Some(2), Some(1), Some(0)],
        None,
        &lanes,
        "per-lane indices",
    );
    // Shared operand, per-lane starts.
    check_lanes(
        &f,
        &[None, None, Some(0)],
        &[Some(0), Some(1), Some(0), Some(2)],
        None,
        &lanes_shared(&lanes),
        "per-lane starts",
    );
}

/// `lanes` with the first two arguments of lane 0 in every lane (they are unmapped).
fn lanes_shared(lanes: &[Vec<HostArray>]) -> Vec<Vec<HostArray>> {
    lanes.iter().map(|l| vec![lanes[0][0].clone(), lanes[0][1].clone(), l[2].clone()]).collect()
}

#[test]
fn random_bits_with_per_lane_keys_give_each_lane_its_own_stream() {
    let f = parse("{ lambda ; k:i64[]. let b:i32[4] = random_bits[shape=(4,) dtype=i32] k in (b,) }");
    let lanes: Vec<Vec<HostArray>> =
        [1i64, 2, 3].iter().map(|&k| vec![HostArray::from_vec([], vec![k]).unwrap()]).collect();
    check_lanes(&f, &[Some(0)], &[Some(0)], None, &lanes, "random_bits");
}

#[test]
fn errors_name_the_axis_and_the_value() {
    let f = parse("{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }");
    let e = vmap(&f, &[Some(2)], &[Some(0)], None, 2).unwrap_err().to_string();
    assert_eq!(e, "vmap in_axes[0] = 2 is out of range for f32[3]: the mapped axis goes at 0..=1");
    let e = vmap(&f, &[Some(0), None], &[Some(0)], None, 2).unwrap_err().to_string();
    assert_eq!(e, "vmap in_axes has 2 entr(ies), but the function has 1 parameter(s)");
    let e = vmap(&f, &[Some(0)], &[None], None, 2).unwrap_err().to_string();
    assert!(e.starts_with("vmap out_axes[0] is None, but output 0 depends on a mapped input"), "{e}");
    // A collective over a name no vmap binds stays, and is the interpreter's error.
    let p = parse("{ lambda ; a:f32[]. let b:f32[] = psum[axis_name=batch] a in (b,) }");
    let g = vmap(&p, &[Some(0)], &[Some(0)], Some("other"), 2).unwrap();
    let e = gradjit_ir::interp::run(&g, &[HostArray::zeros(DType::F32, [2])]).unwrap_err().to_string();
    assert!(e.contains("psum over unbound axis name 'batch'"), "{e}");
}

/// A custom_jvp with a shared operand stays shared: the batched rule is used by `jvp` of the
/// batched function, which must agree with the rule run lane by lane.
#[test]
fn custom_jvp_keeps_shared_operands_shared_and_its_rule_batches() {
    // y = w · sin(x), with the rule dy = w·cos(x)·dx + sin(x)·dw.
    let f = parse(
        "{ lambda ; w:f64[] x:f64[]. let
            y:f64[] = custom_jvp_call[body={ lambda ; w:f64[] x:f64[]. let
                    s:f64[] = sin x
                    y:f64[] = mul w s
                  in (y,) } jvp={ lambda ; w:f64[] x:f64[] dw:f64[] dx:f64[]. let
                    s:f64[] = sin x
                    c:f64[] = cos x
                    y:f64[] = mul w s
                    a:f64[] = mul w c
                    b:f64[] = mul a dx
                    d:f64[] = mul s dw
                    t:f64[] = add b d
                  in (y, t) }] w x
          in (y,) }",
    );
    let batched = vmap(&f, &[None, Some(0)], &[Some(0)], None, 3).unwrap();
    let call = batched.eqns.iter().find(|e| matches!(e.prim, Prim::CustomJvp { .. })).expect("still a custom_jvp");
    assert_eq!(batched.ty(call.inputs[0]).rank(), 0, "the shared weight is not broadcast\n{batched}");
    // jvp(vmap f) on (w, xs; dw, dxs) against each lane's jvp.
    let lanes: Vec<Vec<HostArray>> = [0.3, -1.0, 2.0]
        .iter()
        .map(|&x| vec![f64s(&[], &[1.5]), f64s(&[], &[x]), f64s(&[], &[0.25]), f64s(&[], &[x * 2.0])])
        .collect();
    let jvp_of_batched = gradjit_autodiff::jvp(&batched).unwrap();
    let args =
        vec![f64s(&[], &[1.5]), f64s(&[3], &[0.3, -1.0, 2.0]), f64s(&[], &[0.25]), f64s(&[3], &[0.6, -2.0, 4.0])];
    let got = run(&jvp_of_batched, &args);
    let per_lane = gradjit_autodiff::jvp(&f).unwrap();
    for (i, l) in lanes.iter().enumerate() {
        let want = run(&per_lane, l);
        assert_all_close(&lane(&got[1], 0, i), &want[1], 1e-14, "tangent");
        assert_all_close(&lane(&got[0], 0, i), &want[0], 1e-14, "primal");
    }
}
