//! Static slices fuse as views (an offset and scaled strides into their operand) and edge pads as offset
//! stores of the loop that computes their operand, with the border filled in that kernel's prologue:
//! compiled results equal the interpreter's, and the plans have no host copies left.

mod common;

use common::{array, check, check_with, Tol};
use gradjit_codegen::plan::{Plan, Step};
use gradjit_codegen::CompileOptions;
use gradjit_ir::{parse_function, DType, Function, HostArray};

const SIZES: [usize; 10] = [1, 2, 3, 4, 5, 7, 8, 9, 1000, 100_003];

fn host_steps(plan: &Plan) -> Vec<String> {
    plan.steps
        .iter()
        .filter_map(|s| match s {
            Step::Host { prim, .. } => Some(prim.name().to_string()),
            Step::Kernel(_) => None,
        })
        .collect()
}

fn kernels(plan: &Plan) -> usize {
    plan.steps.iter().filter(|s| matches!(s, Step::Kernel(_))).count()
}

/// The simplified gradient of Rosenbrock `sum(100 (x[1:] - x[:-1]²)² + (1 - x[:-1])²)`: two slices
/// and the two pads of their transposes.
fn rosenbrock_gradient(t: &str, n: usize) -> Function {
    let m = n - 1;
    let src = format!(
        "{{ lambda ; a:{t}[{n}]. let
    b:{t}[{m}] = slice[start=(0,) limit=({m},) stride=(1,)] a
    c:{t}[{m}] = slice[start=(1,) limit=({n},) stride=(1,)] a
    d:{t}[{m}] = mul b b
    e:{t}[{m}] = constant[value=2.0]
    f:{t}[{m}] = mul b e
    g:{t}[{m}] = sub c d
    h:{t}[{m}] = mul g e
    i:{t}[{m}] = constant[value=100.0]
    j:{t}[{m}] = constant[value=1.0]
    k:{t}[{m}] = sub j b
    l:{t}[{m}] = mul k e
    m:{t}[{m}] = mul i h
    n:{t}[{m}] = neg m
    o:{t}[{m}] = mul n f
    p:{t}[{m}] = sub o l
    q:{t}[{n}] = pad[low=(1,) high=(0,) interior=(0,) value=0.0] m
    r:{t}[{n}] = pad[low=(0,) high=(1,) interior=(0,) value=0.0] p
    s:{t}[{n}] = add q r
  in (s,) }}"
    );
    parse_function(&src).unwrap()
}

#[test]
fn rosenbrock_gradient_is_two_kernels_without_copies() {
    for t in ["f32", "f64"] {
        let dt = if t == "f32" { DType::F32 } else { DType::F64 };
        for n in SIZES {
            let f = rosenbrock_gradient(t, n);
            let x = array(dt, &[n], n as u64, -2.0, 2.0);
            let exe = check(&f, std::slice::from_ref(&x), Tol::Rel(1e-6));
            let plan = exe.plan();
            assert!(host_steps(plan).is_empty(), "n={n}:\n{plan}");
            // Single-element values are not loops (they float into prologues and epilogues): the count is
            // for real loops.
            if n >= 3 {
                assert_eq!(kernels(plan), 2, "n={n}:\n{plan}");
            }
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let n = 300_007;
    let f = rosenbrock_gradient("f32", n);
    let x = array(DType::F32, &[n], 5, -2.0, 2.0);
    let run = |threads| {
        let exe = check_with(
            &f,
            std::slice::from_ref(&x),
            Tol::Rel(1e-6),
            &CompileOptions { threads: Some(threads), ..CompileOptions::default() },
        );
        exe.run(&[&x]).unwrap().remove(0)
    };
    let one = run(1);
    assert!(one.bit_eq(&run(2)));
    assert!(one.bit_eq(&run(3)));
}

/// Two-dimensional edge pads of a loop value (low and high on both axes, a non-zero pad value), of a
/// parameter and of a broadcast; strided slices of a parameter and of a loop value; a slice of an iota.
#[test]
fn pads_and_slices_in_two_dimensions() {
    for t in ["f32", "f64"] {
        let dt = if t == "f32" { DType::F32 } else { DType::F64 };
        for (r, c) in [(1usize, 1usize), (1, 5), (3, 4), (5, 7), (8, 9), (33, 1000)] {
            let (pr, pc) = (r + 3, c + 2);
            let (sr, sc) = (r.div_ceil(2), c.saturating_sub(1).div_ceil(3));
            let c1 = c.saturating_sub(1);
            let src = format!(
                "{{ lambda ; a:{t}[{r},{c}] w:{t}[{c}]. let
    e:{t}[{r},{c}] = exp a
    wb:{t}[{r},{c}] = broadcast_in_dim[shape=({r}, {c}) broadcast_dimensions=(1,)] w
    m:{t}[{r},{c}] = mul e wb
    p:{t}[{pr},{pc}] = pad[low=(2, 1) high=(1, 1) interior=(0, 0) value=-1.5] m
    q:{t}[{pr},{pc}] = pad[low=(0, 2) high=(3, 0) interior=(0, 0) value=0.0] a
    u:{t}[{pr},{pc}] = pad[low=(1, 0) high=(2, 2) interior=(0, 0) value=2.0] wb
    s:{t}[{pr},{pc}] = add p q
    v:{t}[{pr},{pc}] = mul s u
    x:{t}[{sr},{sc}] = slice[start=(0, 1) limit=({r}, {c}) stride=(2, 3)] a
    y:{t}[{sr},{sc}] = slice[start=(0, 1) limit=({r}, {c}) stride=(2, 3)] m
    z:{t}[{sr},{sc}] = sub x y
    i:{t}[{r},{c}] = iota[dtype={t} shape=({r}, {c}) axis=1]
    j:{t}[{r},{c1}] = slice[start=(0, 1) limit=({r}, {c}) stride=(1, 1)] i
  in (v, z, j) }}"
            );
            let f = parse_function(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
            let args: Vec<HostArray> =
                vec![array(dt, &[r, c], (r * c) as u64, -1.0, 1.0), array(dt, &[c], 7, -1.0, 1.0)];
            let tol = Tol::Rel(if dt == DType::F32 { 1e-5 } else { 1e-13 });
            let exe = check(&f, &args, tol);
            let plan = exe.plan();
            assert!(host_steps(plan).iter().all(|p| p != "pad" && p != "slice"), "{r}x{c}:\n{plan}");
        }
    }
}

/// A pad whose operand is also an output, and a pad that is itself an output: the padded buffer is the
/// caller's array (borders included), and the operand is stored as well.
#[test]
fn padded_outputs() {
    for n in SIZES {
        let src = format!(
            "{{ lambda ; a:f32[{n}]. let
    b:f32[{n}] = tanh a
    c:f32[{m}] = pad[low=(3,) high=(2,) interior=(0,) value=7.0] b
  in (c, b) }}",
            m = n + 5
        );
        let f = parse_function(&src).unwrap();
        let exe = check(&f, &[array(DType::F32, &[n], 3, -3.0, 3.0)], Tol::Rel(1e-5));
        assert!(host_steps(exe.plan()).is_empty(), "{}", exe.plan());
        if n >= 2 {
            assert_eq!(kernels(exe.plan()), 1, "{}", exe.plan());
        }
    }
}

/// Even and odd elements of a real array are two stride-2 views of one buffer, which vector loops read
/// as pairs (two vectors and a shuffle, as for the parts of complex memory).
#[test]
fn even_and_odd_slices() {
    for (t, dt) in [("f32", DType::F32), ("f64", DType::F64)] {
        for m in [1, 2, 3, 4, 5, 7, 8, 9, 1000, 50_001] {
            let n = 2 * m;
            let src = format!(
                "{{ lambda ; a:{t}[{n}]. let
    e:{t}[{m}] = slice[start=(0,) limit=({n},) stride=(2,)] a
    o:{t}[{m}] = slice[start=(1,) limit=({n},) stride=(2,)] a
    p:{t}[{m}] = mul e o
    q:{t}[{m}] = sub o e
    s:{t}[] = reduce_sum[axes=(0,)] q
  in (p, s) }}"
            );
            let f = parse_function(&src).unwrap();
            let exe = check(&f, &[array(dt, &[n], m as u64, -1.0, 1.0)], common::sum_tol(dt, m));
            assert!(host_steps(exe.plan()).is_empty(), "{}", exe.plan());
        }
    }
}
