//! Control flow under composed transforms: every second-order derivative through a scan, a cond
//! and a custom rule agrees however it is built (reverse over reverse, forward over reverse,
//! forward over forward), and the split a scan's reverse mode makes is what backpropagation
//! through time should be.

mod common;

use common::{assert_all_close, parse, run, sample, Domain, Rng};
use gradjit_autodiff::{grad, hessian, jvp, select_outputs, vjp};
use gradjit_ir::{HostArray, Prim};

/// A scan whose body has a cond and a custom_jvp spike-like smooth function: every kind of
/// sub-function at once. Loss of `w: f64[2]` and `h0: f64[2]`, with `xs: f64[4,2]` and an integer
/// schedule `k: i32[4]`.
const MIXED: &str = "{ lambda ; w:f64[2] h:f64[2] xs:f64[4,2] k:i32[4]. let
    hn:f64[2] ys:f64[4,2] = scan[length=4 reverse=false num_consts=1 num_carry=1 body={ lambda ; w:f64[2] h:f64[2] x:f64[2] k:i32[]. let
        a:f64[2] = mul w h
        b:f64[2] = add a x
        c:f64[2] = cond[branches=({ lambda ; b:f64[2]. let c:f64[2] = tanh b in (c,) }, { lambda ; b:f64[2]. let c:f64[2] = sin b in (c,) })] k b
        d:f64[2] = custom_jvp_call[body={ lambda ; c:f64[2]. let d:f64[2] = mul c c in (d,) } jvp={ lambda ; c:f64[2] t:f64[2]. let
            d:f64[2] = mul c c
            two:f64[2] = constant[value=2.0]
            e:f64[2] = mul c two
            f:f64[2] = mul t e
          in (d, f) }] c
        e:f64[2] = add c d
      in (e, d) }] w h xs k
    s:f64[] = reduce_sum[axes=(0, 1)] ys
    q:f64[2] = mul hn hn
    r:f64[] = reduce_sum[axes=(0,)] q
    l:f64[] = add s r
  in (l,) }";

fn inputs(seed: u64) -> Vec<HostArray> {
    let f = parse(MIXED);
    let mut rng = Rng::new(seed);
    let domains = [Domain::Unit, Domain::Unit, Domain::Any, Domain::Index(2)];
    f.params.iter().zip(domains).map(|(&p, d)| sample(&mut rng, f.ty(p), d)).collect()
}

#[test]
fn second_derivatives_through_control_flow_agree_in_every_mode() {
    let f = parse(MIXED);
    let wrt = [0, 1];
    // Forward over reverse.
    let h = hessian(&f, &wrt).unwrap();
    // Reverse over reverse: the gradient of each component of the gradient.
    let g = grad(&f, &wrt).unwrap();
    for seed in [1, 2, 3] {
        let xs = inputs(seed);
        let blocks = run(&h, &xs);
        for (i, _) in wrt.iter().enumerate() {
            let gi = select_outputs(&g, &[1 + i]).unwrap();
            // d/dw_j <gi, e_k>: a vjp of gi with each basis cotangent.
            let back = vjp(&gi, &wrt).unwrap();
            for k in 0..2 {
                let mut ct = HostArray::zeros(gradjit_ir::DType::F64, [2]);
                ct.set(k, gradjit_ir::Scalar::F64(1.0));
                let out = run(&back, &[xs.clone(), vec![ct]].concat());
                for (j, _) in wrt.iter().enumerate() {
                    // Hessian block (i, j) has shape [2, 2]: row k.
                    let block = &blocks[i * wrt.len() + j];
                    let row: Vec<f64> = (0..2).map(|m| block.get(k * 2 + m).to_f64()).collect();
                    let got = out[1 + j].to_f64_vec();
                    let want = HostArray::from_slice([2], &row).unwrap();
                    assert_all_close(
                        &HostArray::from_slice([2], &got).unwrap(),
                        &want,
                        1e-12,
                        &format!("H[{i}][{j}] row {k}"),
                    );
                }
            }
        }
    }
}

#[test]
fn forward_over_forward_through_a_scan_matches_reverse() {
    let f = parse(MIXED);
    let j1 = jvp(&f).unwrap();
    // Second directional derivative along t: the JVP of the JVP, along (t, 0) and (0, t).
    let j2 = jvp(&j1).unwrap();
    let g = grad(&f, &[0, 1]).unwrap();
    let h = hessian(&f, &[0, 1]).unwrap();
    let mut rng = Rng::new(9);
    let xs = inputs(4);
    // Tangents along w and h only (the Hessian's parameters); zero along xs and the schedule.
    let t: Vec<HostArray> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let ty = x.ty().with_dtype(x.dtype().tangent());
            if i < 2 {
                sample(&mut rng, &ty, Domain::Any)
            } else {
                HostArray::zeros(ty.dtype, ty.shape)
            }
        })
        .collect();
    // j2 takes (x, t, tx, tt): with tx = t and tt = 0 its last output is tᵀ H t.
    let zeros: Vec<HostArray> = t.iter().map(|a| HostArray::zeros(a.dtype(), a.shape().clone())).collect();
    let out = run(&j2, &[xs.clone(), t.clone(), t.clone(), zeros].concat());
    let second = out.last().unwrap().to_f64_vec()[0];
    let blocks = run(&h, &xs);
    let tv: Vec<Vec<f64>> = t[..2].iter().map(HostArray::to_f64_vec).collect();
    let mut want = 0.0;
    for (i, ti) in tv.iter().enumerate() {
        for (j, tj) in tv.iter().enumerate() {
            let b = blocks[i * 2 + j].to_f64_vec();
            for k in 0..2 {
                for m in 0..2 {
                    want += ti[k] * b[k * 2 + m] * tj[m];
                }
            }
        }
    }
    assert!((second - want).abs() <= 1e-11 * (1.0 + want.abs()), "tᵀHt: {second} vs {want}");
    // And the first derivative along t equals <grad, t>.
    let first = out[1].to_f64_vec()[0];
    let grads = run(&g, &xs);
    let dot: f64 = (0..2).map(|i| grads[1 + i].to_f64_vec().iter().zip(&tv[i]).map(|(a, b)| a * b).sum::<f64>()).sum();
    assert!((first - dot).abs() <= 1e-12 * (1.0 + dot.abs()), "<grad, t>: {first} vs {dot}");
}

/// The reverse mode of a scan is one forward scan and one reversed scan, whatever the length,
/// and the backward scan reads the weight as a const rather than a stacked copy.
#[test]
fn reverse_mode_of_a_scan_is_a_forward_and_a_reversed_scan() {
    let f = parse(
        "{ lambda ; w:f64[3,3] h:f64[3] xs:f64[50,3]. let
            hn:f64[3] = scan[length=50 reverse=false num_consts=1 num_carry=1 body={ lambda ; w:f64[3,3] h:f64[3] x:f64[3]. let
                a:f64[3] = dot_general[lhs_contract=(1,) rhs_contract=(0,) lhs_batch=() rhs_batch=()] w h
                b:f64[3] = add a x
                c:f64[3] = tanh b
              in (c,) }] w h xs
            l:f64[] = reduce_sum[axes=(0,)] hn
          in (l,) }",
    );
    let g = grad(&f, &[0, 1, 2]).unwrap();
    let scans: Vec<&Prim> = g.eqns.iter().map(|e| &e.prim).filter(|p| matches!(p, Prim::Scan { .. })).collect();
    assert_eq!(scans.len(), 2, "{g}");
    let (Prim::Scan { reverse: false, .. }, Prim::Scan { reverse: true, num_consts: 1, body, .. }) =
        (scans[0], scans[1])
    else {
        panic!("expected a forward then a reversed scan with one const:\n{g}");
    };
    assert_eq!(body.param_types()[0], gradjit_ir::TensorType::new(gradjit_ir::DType::F64, [3, 3]), "{g}");
}
