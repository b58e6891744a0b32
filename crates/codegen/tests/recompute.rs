//! Cheap loop values (a few adds, multiplies, negations from leaves) read by the loop of another group are
//! recomputed there instead of being stored and loaded back; expensive ones are still stored once.

mod common;

use common::{array, check, check_with, sum_tol, Tol};
use gradjit_codegen::plan::{BufKind, Plan};
use gradjit_codegen::CompileOptions;
use gradjit_ir::{parse_function, DType, Function, HostArray};

/// Full-size intermediate (or output) buffers of a plan.
fn big_temps(plan: &Plan, numel: usize) -> usize {
    plan.buffers.iter().filter(|b| matches!(b.kind, BufKind::Temp) && b.ty.numel() == numel).count()
}

/// The simplified gradient of softmax cross-entropy `-mean(sum(labels * log_softmax(logits), -1))`.
fn softmax_xent_gradient(t: &str, r: usize, c: usize) -> Function {
    let k = -1.0 / r as f64;
    let src = format!(
        "{{ lambda ; a:{t}[{r},{c}] b:{t}[{r},{c}]. let
    c:{t}[{r}] = reduce_max[axes=(1,)] a
    d:{t}[{r},1] = reshape[shape=({r}, 1)] c
    e:{t}[{r},1] = stop_gradient d
    f:{t}[{r},{c}] = broadcast_in_dim[shape=({r}, {c}) broadcast_dimensions=(0, 1)] e
    g:{t}[{r},{c}] = sub a f
    h:{t}[{r},{c}] = exp g
    i:{t}[{r}] = reduce_sum[axes=(1,)] h
    j:{t}[{r},1] = reshape[shape=({r}, 1)] i
    k:{t}[{r},{c}] = constant[value={k:?}]
    l:{t}[{r},{c}] = mul k b
    m:{t}[{r},{c}] = neg l
    n:{t}[{r}] = reduce_sum[axes=(1,)] m
    o:{t}[{r},1] = reshape[shape=({r}, 1)] n
    p:{t}[{r},1] = div o j
    q:{t}[{r}] = reshape[shape=({r},)] p
    r:{t}[{r},{c}] = broadcast_in_dim[shape=({r}, {c}) broadcast_dimensions=(0,)] q
    s:{t}[{r},{c}] = mul r h
    t:{t}[{r},{c}] = add l s
  in (t,) }}"
    );
    parse_function(&src).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

#[test]
fn softmax_xent_gradient_recomputes_the_scaled_labels() {
    for (t, dt) in [("f32", DType::F32), ("f64", DType::F64)] {
        for (r, c) in [(2, 3), (3, 5), (4, 1000), (7, 8), (64, 257)] {
            let f = softmax_xent_gradient(t, r, c);
            let args: Vec<HostArray> = vec![array(dt, &[r, c], 1, -3.0, 3.0), array(dt, &[r, c], 2, 0.0, 1.0)];
            let exe = check(&f, &args, sum_tol(dt, c));
            // `exp` is stored once (h) and the result written: `k * b` is not stored but recomputed.
            assert_eq!(big_temps(exe.plan(), r * c), 2, "{r}x{c}:\n{}", exe.plan());
        }
    }
}

/// A cheap value read by two later groups and by the caller; an expensive one read by another group.
#[test]
fn cheap_values_shared_by_groups_and_outputs() {
    for n in [1, 3, 4, 5, 7, 8, 1000, 100_003] {
        let src = format!(
            "{{ lambda ; a:f32[{n}] b:f32[{n}]. let
    c:f32[{n}] = mul a b
    d:f32[{n}] = sub c a
    s:f32[] = reduce_sum[axes=(0,)] d
    sb:f32[{n}] = broadcast_in_dim[shape=({n},) broadcast_dimensions=()] s
    e:f32[{n}] = mul d sb
    x:f32[{n}] = exp d
    m:f32[] = reduce_max[axes=(0,)] x
    mb:f32[{n}] = broadcast_in_dim[shape=({n},) broadcast_dimensions=()] m
    g:f32[{n}] = add d mb
    h:f32[{n}] = mul x sb
  in (e, g, c, h) }}"
        );
        let f = parse_function(&src).unwrap();
        let args = vec![array(DType::F32, &[n], 3, -1.0, 1.0), array(DType::F32, &[n], 4, -1.0, 1.0)];
        check(&f, &args, Tol::Rel(1e-4));
    }
}

/// A deep chain whose every step reads its operand twice: deciding whether to recompute it looks at a
/// bounded number of operations (not 2^depth), and it is stored, being too long to recompute.
#[test]
fn deep_shared_chains_are_stored_not_recomputed() {
    let n = 1000;
    let mut lines = String::new();
    for k in 0..48 {
        lines += &format!("    a{}:f32[{n}] = add a{k} a{k}\n", k + 1);
    }
    let src = format!(
        "{{ lambda ; a0:f32[{n}]. let
{lines}    s:f32[] = reduce_sum[axes=(0,)] a48
    sb:f32[{n}] = broadcast_in_dim[shape=({n},) broadcast_dimensions=()] s
    y:f32[{n}] = mul a48 sb
  in (y,) }}"
    );
    let f = parse_function(&src).unwrap();
    let t = std::time::Instant::now();
    // Unsimplified, so that the chain stays a chain of shared operands.
    let opts = CompileOptions { simplify: false, ..CompileOptions::default() };
    let exe = check_with(&f, &[array(DType::F32, &[n], 1, -1.0, 1.0)], sum_tol(DType::F32, n), &opts);
    assert!(t.elapsed().as_secs() < 5, "planning took {:?}", t.elapsed());
    // a48 (stored by the first loop) and y.
    assert_eq!(big_temps(exe.plan(), n), 2, "{}", exe.plan());
}
