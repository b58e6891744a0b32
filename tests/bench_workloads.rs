//! Tests of the benchmark harness (benches/workloads/): inputs match the JAX side's generator,
//! every workload traces and differentiates, the hand-written loops agree with the autodiff
//! gradients, the identity is the identity, timing summaries and `.npy` files are right.

#[path = "../benches/workloads/mod.rs"]
mod workloads;

use gradjit::{assert_allclose, Array};
use std::sync::Arc;
use workloads::engine::{by_name, gradient_ir, Engine, Interpreter};
use workloads::inputs::{one_hot, splitmix64, uniform, uniform_vec};
use workloads::measure::Summary;
use workloads::npy::encode_f32;
use workloads::{transcendental_chain, workload, Transform, Workload, IDS};

/// Values printed by scripts/bench_jax.py's `splitmix64(0, 1)` and `uniform(16, (3,), -1, 1)`
/// (the first is also splitmix64's published first output for seed 0).
#[test]
fn inputs_match_the_numpy_generator() {
    assert_eq!(splitmix64(0, 0), 0xE220_A839_7B1D_CDAF);
    assert_eq!(uniform_vec(16, 3, -1.0, 1.0), [-0.022170782f32, 0.5297574, -0.59060943]);
    let labels = one_hot(49, 4, 1000).to_vec::<f32>().unwrap();
    assert_eq!(labels.iter().sum::<f32>(), 4.0);
    assert!(labels.chunks(1000).all(|row| row.iter().filter(|&&x| x == 1.0).count() == 1));
}

#[test]
fn summary_median_min_max() {
    let s = Summary::of_seconds(&[0.0625, 0.015625, 0.03125, 0.25]);
    assert_eq!((s.median, s.min, s.max, s.n), (46.875, 15.625, 250.0, 4));
    let s = Summary::of_seconds(&[0.25, 0.0625, 0.03125]);
    assert_eq!((s.median, s.min, s.max, s.n), (62.5, 31.25, 250.0, 3));
}

#[test]
fn npy_header_is_padded_to_64_bytes() {
    let bytes = encode_f32(&[2, 3], &[0.5; 6]);
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    assert_eq!((10 + header_len) % 64, 0);
    assert_eq!(bytes.len(), 10 + header_len + 24);
    assert!(std::str::from_utf8(&bytes[10..10 + header_len]).unwrap().contains("'shape': (2, 3)"));
    assert_eq!(&bytes[10 + header_len..14 + header_len], &0.5f32.to_le_bytes());
}

fn gradients(engine: &dyn Engine, w: &Workload) -> Vec<Array> {
    let mut compiled = engine.compile(w).unwrap();
    compiled.call().unwrap();
    compiled.outputs().unwrap()
}

#[test]
fn every_workload_has_a_gradient_ir_of_the_parameters_shapes() {
    for id in IDS {
        let w = workload(id).unwrap();
        let ir = gradient_ir(&w).unwrap_or_else(|e| panic!("{id}: {e}"));
        let expected: Vec<&[usize]> = w.params.iter().take(ir.outputs.len().max(1)).map(|a| a.shape()).collect();
        let got: Vec<&[usize]> = ir.outputs.iter().map(|&o| ir.ty(o).dims()).collect();
        assert_eq!(got, expected, "{id}");
    }
}

#[test]
fn hand_written_w1_agrees_with_autodiff() {
    let w = workload("w1_n1e3").unwrap();
    let (hand, auto) = (gradients(by_name("hand").unwrap().as_ref(), &w), gradients(&Interpreter, &w));
    assert_eq!(hand.len(), 3);
    for (h, a) in hand.iter().zip(&auto) {
        assert_allclose(h, a, 1e-5, 1e-8);
    }
    // dx = mean(1 - tanh^2) * sum(y) is not small: the comparison above is not vacuous.
    assert!(auto[0].to_vec::<f32>().unwrap()[0].abs() > 1e-3);
}

#[test]
fn hand_written_w5_agrees_with_autodiff() {
    let w = Workload {
        id: "w5_small",
        name: "W5",
        size: "n=4099",
        params: vec![uniform(80, &[4099], -3.0, 3.0)],
        rest: vec![],
        f: Arc::new(|p, _| Ok(transcendental_chain(&p[0]))),
        transform: Transform::Grad,
        min_bytes: None,
    };
    let (h, a) = (gradients(&workloads::hand::HandWritten, &w), gradients(&Interpreter, &w));
    assert_allclose(&h[0], &a[0], 1e-5, 1e-6);
}

#[test]
fn dispatch_identity_returns_its_input() {
    let w = workload("dispatch_identity").unwrap();
    let out = gradients(&Interpreter, &w);
    assert_eq!(out[0].to_vec::<f32>().unwrap(), w.params[0].to_vec::<f32>().unwrap());
}

#[test]
fn engines_say_what_they_skip() {
    let hand = by_name("hand").unwrap();
    assert!(hand.skip_reason(&workload("w3").unwrap()).is_some());
    assert!(hand.skip_reason(&workload("w5_n1e6").unwrap()).is_none());
    assert!(Interpreter.skip_reason(&workload("w2").unwrap()).is_none());
    assert!(by_name("nope").is_err());
}

#[test]
fn compiled_engines_agree_with_the_interpreter() {
    for name in ["codegen", "jit"] {
        let engine = by_name(name).unwrap();
        for id in ["w1_n1e3", "w4_n1e5", "dispatch_identity"] {
            let w = workload(id).unwrap();
            let (compiled, reference) = (gradients(engine.as_ref(), &w), gradients(&Interpreter, &w));
            assert_eq!(compiled.len(), reference.len(), "{name} {id}");
            for (c, r) in compiled.iter().zip(&reference) {
                assert_allclose(c, r, 1e-5, 1e-8);
            }
        }
    }
    // A fresh compiler makes codegen's next first call cold; jit's code cache is process-wide.
    assert!(by_name("codegen").unwrap().forget());
    assert!(!by_name("jit").unwrap().forget());
}
