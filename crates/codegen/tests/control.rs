//! Differential tests of compiled control flow against the reference interpreter: `scan` (forward and
//! reverse, carries, stacked outputs, consts, lengths 0, 1 and more, nested, of a gradient), `while`,
//! `cond`/`switch` and the custom-derivative calls, in f32 and f64 at odd sizes.

mod common;

use common::{array, check, check_with, Tol};
use gradjit_codegen::{compile, CompileOptions};
use gradjit_ir::{parse_function, DType, Function, HostArray, Scalar};

const DTYPES: [DType; 2] = [DType::F32, DType::F64];

fn parse(src: &str) -> Function {
    parse_function(src).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

/// Chains of transcendental functions over several steps: the kernels' ulps and other summation orders.
fn tol(dt: DType) -> Tol {
    Tol::Rel(if dt == DType::F32 { 2e-5 } else { 1e-12 })
}

/// The fusion dump of `f` compiled with dumps (the plans of the sub-programs included).
fn fusion_dump(f: &Function) -> String {
    let exe = compile(f, &CompileOptions { dumps: true, ..CompileOptions::default() }).expect("compiles");
    exe.dumps().fusion.clone()
}

/// A scan with a const, a vector and a scalar carry, and three stacked outputs: a carry again (copied),
/// a slice parameter passed through (copied), and a scalar computed in the body.
fn scan_fn(dt: DType, n: usize, length: usize, reverse: bool) -> Function {
    parse(&format!(
        "{{ lambda ; w:{dt}[{n}] c0:{dt}[{n}] s0:{dt}[] xs:{dt}[{length},{n}] . let
            c:{dt}[{n}] s:{dt}[] ys:{dt}[{length},{n}] xo:{dt}[{length},{n}] ts:{dt}[{length}] = scan[length={length} reverse={reverse} num_consts=1 num_carry=2 body={{ lambda ; a:{dt}[{n}] b:{dt}[{n}] c:{dt}[] d:{dt}[{n}]. let
                    e:{dt}[{n}] = mul b a
                    f:{dt}[{n}] = add e d
                    g:{dt}[{n}] = tanh f
                    h:{dt}[] = reduce_sum[axes=(0,)] g
                    i:{dt}[] = add c h
                  in (g, i, g, d, h) }}] w c0 s0 xs
          in (c, s, ys, xo, ts) }}"
    ))
}

fn scan_args(dt: DType, n: usize, length: usize, seed: u64) -> Vec<HostArray> {
    vec![
        array(dt, &[n], seed, -1.5, 1.5),
        array(dt, &[n], seed + 1, -1.0, 1.0),
        array(dt, &[], seed + 2, -1.0, 1.0),
        array(dt, &[length, n], seed + 3, -1.0, 1.0),
    ]
}

#[test]
fn scan_forward_and_reverse_with_carries_consts_and_stacked_outputs() {
    for dt in DTYPES {
        for n in [1, 7, 33] {
            for length in [0, 1, 2, 5, 17] {
                for reverse in [false, true] {
                    let f = scan_fn(dt, n, length, reverse);
                    check(&f, &scan_args(dt, n, length, 10 * n as u64 + length as u64), tol(dt));
                }
            }
        }
    }
}

#[test]
fn scan_body_is_compiled_not_interpreted() {
    let f = scan_fn(DType::F32, 9, 4, false);
    let dump = fusion_dump(&f);
    assert!(dump.contains("scan body:"), "{dump}");
    // The body is one fused loop (vector carry, scalar reduction) plus the scalar epilogue: native kernels.
    let body = dump.split("scan body:").nth(1).expect("a body section");
    assert!(body.contains("kernel k"), "{dump}");
    assert!(!body.contains("host "), "{dump}");
    // Its CLIF and machine code are in the dumps too, after the enclosing function's.
    let exe = compile(&f, &CompileOptions { dumps: true, ..CompileOptions::default() }).expect("compiles");
    for text in [&exe.dumps().clif, &exe.dumps().clif_opt, &exe.dumps().asm] {
        let (_, nested) = text.split_once("; ==== step 0: scan body").expect("a section of the body");
        assert!(nested.contains("; k0_body"), "{text}");
    }
}

/// An RNN step with a weight-gradient-like accumulation `g' = g <op> outer(h, x)`, from `g0` or zeros.
fn rnn(dt: DType, (n, m, length): (usize, usize, usize), op: &str, zero_init: bool, reverse: bool) -> Function {
    let init = if zero_init { "z" } else { "g0" };
    parse(&format!(
        "{{ lambda ; w:{dt}[{n},{n}] u:{dt}[{m},{n}] h0:{dt}[{n}] g0:{dt}[{n},{m}] xs:{dt}[{length},{m}] . let
            z:{dt}[{n},{m}] = constant[value=0.0]
            h:{dt}[{n}] g:{dt}[{n},{m}] hs:{dt}[{length},{n}] = scan[length={length} reverse={reverse} num_consts=2 num_carry=2 body={{ lambda ; a:{dt}[{n},{n}] b:{dt}[{m},{n}] c:{dt}[{n}] d:{dt}[{n},{m}] e:{dt}[{m}]. let
                    f:{dt}[{n}] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] c a
                    g:{dt}[{n}] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] e b
                    h:{dt}[{n}] = add f g
                    i:{dt}[{n}] = tanh h
                    j:{dt}[{n},{m}] = dot_general[lhs_contract=() rhs_contract=() lhs_batch=() rhs_batch=()] i e
                    k:{dt}[{n},{m}] = {op} d j
                  in (i, k, i) }}] w u h0 {init} xs
          in (h, g, hs) }}"
    ))
}

#[test]
fn scan_with_matvec_and_outer_product() {
    for dt in DTYPES {
        for size @ (n, m, length) in [(1, 1, 3), (5, 3, 1), (13, 7, 6), (4, 2, 0)] {
            let args = vec![
                array(dt, &[n, n], 1, -0.5, 0.5),
                array(dt, &[m, n], 2, -0.5, 0.5),
                array(dt, &[n], 3, -1.0, 1.0),
                array(dt, &[n, m], 4, -1.0, 1.0),
                array(dt, &[length, m], 5, -1.0, 1.0),
            ];
            for (op, zero_init, reverse) in [("add", true, false), ("add", false, true), ("sub", false, false)] {
                let f = rnn(dt, size, op, zero_init, reverse);
                check(&f, &args, tol(dt));
                if length == 0 {
                    continue;
                }
                let dump = fusion_dump(&f);
                let (outer, body) = dump.split_once("scan body:").expect("a body section");
                // The body's GEMMs are the two products with the state and the input, never the outer
                // product: an accumulation of it leaves the loop as one GEMM over the stacked factors;
                // any other use fuses it as a broadcast multiplication.
                assert_eq!(body.matches("host dot_general").count(), 2, "{dump}");
                let hoisted = op == "add";
                assert_eq!(outer.matches("host dot_general").count(), usize::from(hoisted), "{dump}");
                assert_eq!(body.contains(&format!("for [{n}, {m}]")), !hoisted && n > 1 && m > 1, "{dump}");
            }
        }
    }
}

#[test]
fn nested_scans() {
    // The outer scan runs an inner scan over the rows of each slice: a running sum of running products.
    for dt in DTYPES {
        for (n, inner, outer) in [(3, 1, 1), (5, 4, 3), (2, 0, 2), (1, 3, 0)] {
            let f = parse(&format!(
                "{{ lambda ; k:{dt}[{n}] c0:{dt}[{n}] xs:{dt}[{outer},{inner},{n}] . let
                    c:{dt}[{n}] ys:{dt}[{outer},{n}] = scan[length={outer} reverse=false num_consts=1 num_carry=1 body={{ lambda ; a:{dt}[{n}] b:{dt}[{n}] x:{dt}[{inner},{n}]. let
                            p:{dt}[{n}] q:{dt}[{inner},{n}] = scan[length={inner} reverse=true num_consts=1 num_carry=1 body={{ lambda ; a:{dt}[{n}] b:{dt}[{n}] c:{dt}[{n}]. let
                                    d:{dt}[{n}] = mul b c
                                    e:{dt}[{n}] = add d a
                                    f:{dt}[{n}] = sin e
                                  in (f, d) }}] a b x
                            r:{dt}[{n}] = reduce_sum[axes=(0,)] q
                            s:{dt}[{n}] = add p r
                          in (s, p) }}] k c0 xs
                  in (c, ys) }}"
            ));
            let args = vec![
                array(dt, &[n], 5, -1.0, 1.0),
                array(dt, &[n], 6, -1.0, 1.0),
                array(dt, &[outer, inner, n], 7, -1.0, 1.0),
            ];
            check(&f, &args, tol(dt));
        }
    }
}

/// A leaky integrate-and-fire recurrence (W6 of the benchmarks, small): `grad` of it is a forward scan
/// stacking residuals and a reversed scan accumulating the weight's gradient (BPTT).
fn lif(dt: DType, n: usize, t: usize) -> Function {
    parse(&format!(
        "{{ lambda ; w:{dt}[{n},{n}] cur:{dt}[{t},{n}] . let
            z:{dt}[{n}] = constant[value=0.0]
            v:{dt}[{n}] s:{dt}[{n}] ss:{dt}[{t},{n}] = scan[length={t} reverse=false num_consts=1 num_carry=2 body={{ lambda ; a:{dt}[{n},{n}] b:{dt}[{n}] c:{dt}[{n}] d:{dt}[{n}]. let
                    e:{dt}[{n}] = dot_general[lhs_contract=(0,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] c a
                    f:{dt}[{n}] = sub d b
                    g:{dt}[{n}] = add f e
                    h:{dt}[{n}] = constant[value=0.1]
                    i:{dt}[{n}] = mul h g
                    j:{dt}[{n}] = add b i
                    k:{dt}[{n}] = constant[value=1.0]
                    l:{dt}[{n}] = sub j k
                    m:{dt}[{n}] = constant[value=5.0]
                    o:{dt}[{n}] = mul m l
                    p:{dt}[{n}] = logistic o
                    q:{dt}[{n}] = sub k p
                    r:{dt}[{n}] = mul j q
                  in (r, p, p) }}] w z z cur
            loss:{dt}[] = reduce_sum[axes=(0, 1)] ss
          in (loss,) }}"
    ))
}

#[test]
fn scan_of_a_gradient_bptt() {
    for dt in DTYPES {
        for (n, t) in [(1, 1), (7, 5), (19, 12)] {
            let g = gradjit_autodiff::grad(&lif(dt, n, t), &[0, 1]).expect("grad of a scan");
            assert!(g.eqns.iter().filter(|e| e.prim.name() == "scan").count() >= 2, "{g}");
            let args = vec![array(dt, &[n, n], 8, -0.3, 0.3), array(dt, &[t, n], 9, 0.0, 2.5)];
            check(&g, &args, tol(dt));
        }
    }
}

#[test]
fn while_loops() {
    // `while i < k: x = sin(x * a) + 1; i += 1`, and a condition on the data (`sum(x) < lim`).
    for dt in DTYPES {
        for n in [1, 6, 35] {
            let f = parse(&format!(
                "{{ lambda ; k:i32[] a:{dt}[{n}] i0:i32[] x0:{dt}[{n}] . let
                    i:i32[] x:{dt}[{n}] = while[cond_consts=1 body_consts=1 cond={{ lambda ; k:i32[] i:i32[] x:{dt}[{n}]. let
                            p:bool[] = lt i k
                          in (p,) }} body={{ lambda ; a:{dt}[{n}] i:i32[] x:{dt}[{n}]. let
                            one:i32[] = constant[value=1]
                            j:i32[] = add i one
                            y:{dt}[{n}] = mul x a
                            z:{dt}[{n}] = sin y
                            c:{dt}[{n}] = constant[value=1.0]
                            w:{dt}[{n}] = add z c
                          in (j, w) }}] k a i0 x0
                  in (i, x) }}"
            ));
            for trips in [-1, 0, 1, 2, 9] {
                let args = vec![
                    HostArray::scalar(Scalar::I32(trips)),
                    array(dt, &[n], 11, -1.0, 1.0),
                    HostArray::scalar(Scalar::I32(0)),
                    array(dt, &[n], 12, -1.0, 1.0),
                ];
                check(&f, &args, tol(dt));
            }
            let g = parse(&format!(
                "{{ lambda ; lim:{dt}[] x0:{dt}[{n}] . let
                    x:{dt}[{n}] = while[cond_consts=1 body_consts=0 cond={{ lambda ; l:{dt}[] x:{dt}[{n}]. let
                            s:{dt}[] = reduce_sum[axes=(0,)] x
                            p:bool[] = lt s l
                          in (p,) }} body={{ lambda ; x:{dt}[{n}]. let
                            h:{dt}[{n}] = constant[value=0.5]
                            y:{dt}[{n}] = add x h
                          in (y,) }}] lim x0
                  in (x,) }}"
            ));
            for lim in [-100.0, 0.0, 3.0, 40.0] {
                let args = vec![HostArray::scalar(Scalar::from_f64(lim, dt)), array(dt, &[n], 13, 0.0, 1.0)];
                check(&g, &args, Tol::Exact);
            }
        }
    }
}

/// `switch(index, x, y)` over three branches of different costs, one returning an operand unchanged.
fn switch_fn(dt: DType, n: usize, index: &str) -> Function {
    parse(&format!(
        "{{ lambda ; i:{index}[] x:{dt}[{n}] y:{dt}[] . let
            r:{dt}[{n}] s:{dt}[] = cond[branches=({{ lambda ; x:{dt}[{n}] y:{dt}[]. let
                    a:{dt}[{n}] = exp x
                  in (a, y) }}, {{ lambda ; x:{dt}[{n}] y:{dt}[]. let
                    a:{dt}[{n}] = broadcast_in_dim[shape=({n},) broadcast_dimensions=()] y
                    b:{dt}[{n}] = mul x a
                    c:{dt}[] = reduce_max[axes=(0,)] b
                  in (b, c) }}, {{ lambda ; x:{dt}[{n}] y:{dt}[]. let
                    a:{dt}[{n}] = neg x
                    b:{dt}[] = neg y
                  in (a, b) }})] i x y
          in (r, s) }}"
    ))
}

#[test]
fn cond_and_switch() {
    for dt in DTYPES {
        for n in [1, 5, 70] {
            let args = |i: HostArray| vec![i, array(dt, &[n], 14, -2.0, 2.0), array(dt, &[], 15, -2.0, 2.0)];
            for i in [-3i32, 0, 1, 2, 7] {
                check(&switch_fn(dt, n, "i32"), &args(HostArray::scalar(Scalar::I32(i))), tol(dt));
            }
            for i in [i64::MIN, 1, 2, i64::MAX] {
                check(&switch_fn(dt, n, "i64"), &args(HostArray::scalar(Scalar::I64(i))), tol(dt));
            }
            for b in [false, true] {
                check(&switch_fn(dt, n, "bool"), &args(HostArray::scalar(Scalar::Bool(b))), tol(dt));
            }
        }
    }
}

#[test]
fn cond_inside_a_scan() {
    // A scan whose body branches on its step's input: the cond is a host step of the body's plan.
    for dt in DTYPES {
        let (n, length) = (11, 8);
        let f = parse(&format!(
            "{{ lambda ; c0:{dt}[{n}] idx:i32[{length}] . let
                c:{dt}[{n}] ys:{dt}[{length},{n}] = scan[length={length} reverse=true num_consts=0 num_carry=1 body={{ lambda ; c:{dt}[{n}] i:i32[]. let
                        d:{dt}[{n}] = cond[branches=({{ lambda ; x:{dt}[{n}]. let a:{dt}[{n}] = sin x in (a,) }}, {{ lambda ; x:{dt}[{n}]. let
                                a:{dt}[{n}] = constant[value=0.5]
                                b:{dt}[{n}] = mul x a
                              in (b,) }})] i c
                      in (d, c) }}] c0 idx
              in (c, ys) }}"
        ));
        let idx = HostArray::from_vec([length], vec![0i32, 1, 1, 0, 5, -1, 0, 1]).unwrap();
        check(&f, &[array(dt, &[n], 16, -2.0, 2.0), idx], tol(dt));
    }
}

#[test]
fn custom_calls_run_their_primal_body_fused() {
    for dt in DTYPES {
        let n = 13;
        let f = parse(&format!(
            "{{ lambda ; a:{dt}[{n}] b:{dt}[{n}] . let
                c:{dt}[{n}] = custom_jvp_call[body={{ lambda ; a:{dt}[{n}]. let b:{dt}[{n}] = sin a in (b,) }} jvp={{ lambda ; a:{dt}[{n}] b:{dt}[{n}]. let
                        c:{dt}[{n}] = sin a
                        d:{dt}[{n}] = cos a
                        e:{dt}[{n}] = mul b d
                      in (c, e) }}] a
                d:{dt}[{n}] = custom_vjp_call[body={{ lambda ; a:{dt}[{n}] b:{dt}[{n}]. let
                        c:{dt}[{n}] = mul a b
                        d:{dt}[{n}] = tanh c
                      in (d,) }} fwd={{ lambda ; a:{dt}[{n}] b:{dt}[{n}]. let
                        c:{dt}[{n}] = mul a b
                        d:{dt}[{n}] = tanh c
                      in (d, a, b) }} bwd={{ lambda ; a:{dt}[{n}] b:{dt}[{n}] g:{dt}[{n}]. let
                        h:{dt}[{n}] = mul g b
                        i:{dt}[{n}] = mul g a
                      in (h, i) }}] c b
                e:{dt}[{n}] = add d a
              in (e,) }}"
        ));
        let exe = check(&f, &[array(dt, &[n], 17, -2.0, 2.0), array(dt, &[n], 18, -2.0, 2.0)], tol(dt));
        // Both calls inline and fuse with the `add` into one loop.
        assert_eq!(exe.plan().steps.len(), 1, "{}", exe.plan());
        assert_eq!(exe.plan().kernels().count(), 1, "{}", exe.plan());
    }
}

#[test]
fn unsimplified_bodies_compile_too() {
    let opts = CompileOptions { simplify: false, threads: Some(1), dumps: false };
    for dt in DTYPES {
        let f = scan_fn(dt, 5, 3, true);
        check_with(&f, &scan_args(dt, 5, 3, 99), tol(dt), &opts);
    }
}

#[test]
fn repeated_and_concurrent_calls_agree() {
    // Work areas are pooled: calls after the first, and calls from several threads, reuse them.
    let dt = DType::F32;
    let f = scan_fn(dt, 17, 9, false);
    let exe = compile(&f, &CompileOptions::default()).expect("compiles");
    let args = scan_args(dt, 17, 9, 3);
    let refs: Vec<&HostArray> = args.iter().collect();
    let first = exe.run(&refs).expect("runs");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    let again = exe.run(&refs).expect("runs");
                    for (a, b) in again.iter().zip(&first) {
                        assert!(a.bit_eq(b));
                    }
                }
            });
        }
    });
}

#[test]
fn splat_operands_become_constants_of_the_body() {
    for dt in DTYPES {
        for (n, length, reverse) in [(1, 1, false), (9, 6, true), (4, 0, false)] {
            let f = parse(&format!(
                "{{ lambda ; c0:{dt}[{n}] xs:{dt}[{length},{n}] . let
                    k:{dt}[{n}] = constant[value=0.75]
                    q:{dt}[{length},{n}] = constant[value=-0.5]
                    c:{dt}[{n}] ys:{dt}[{length},{n}] = scan[length={length} reverse={reverse} num_consts=1 num_carry=1 body={{ lambda ; a:{dt}[{n}] b:{dt}[{n}] x:{dt}[{n}] y:{dt}[{n}]. let
                            d:{dt}[{n}] = mul b a
                            e:{dt}[{n}] = add d x
                            g:{dt}[{n}] = mul e y
                          in (g, y) }}] k c0 xs q
                  in (c, ys) }}"
            ));
            let args = vec![array(dt, &[n], 21, -1.0, 1.0), array(dt, &[length, n], 22, -1.0, 1.0)];
            let exe = check(&f, &args, Tol::Exact);
            // The constants are immediates of the body's kernel: nothing fills them before the loop.
            assert_eq!(exe.plan().steps.len(), 1, "{}", exe.plan());
        }
    }
}

#[test]
fn while_inside_a_scan() {
    // Each step halves its slice until its sum is below the carry, then adds it to the carry.
    for dt in DTYPES {
        let (n, length) = (6, 5);
        let f = parse(&format!(
            "{{ lambda ; c0:{dt}[] xs:{dt}[{length},{n}] . let
                c:{dt}[] ys:{dt}[{length},{n}] = scan[length={length} reverse=false num_consts=0 num_carry=1 body={{ lambda ; c:{dt}[] x:{dt}[{n}]. let
                        y:{dt}[{n}] = while[cond_consts=1 body_consts=0 cond={{ lambda ; l:{dt}[] x:{dt}[{n}]. let
                                s:{dt}[] = reduce_sum[axes=(0,)] x
                                p:bool[] = gt s l
                              in (p,) }} body={{ lambda ; x:{dt}[{n}]. let
                                h:{dt}[{n}] = constant[value=0.5]
                                y:{dt}[{n}] = mul x h
                              in (y,) }}] c x
                        t:{dt}[] = reduce_sum[axes=(0,)] y
                        d:{dt}[] = add c t
                      in (d, y) }}] c0 xs
              in (c, ys) }}"
        ));
        check(&f, &[HostArray::scalar(Scalar::from_f64(0.5, dt)), array(dt, &[length, n], 23, 0.0, 4.0)], tol(dt));
    }
}
