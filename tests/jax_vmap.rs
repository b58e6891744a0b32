//! gradjit's `vmap` against JAX: `tests/reference/vmap/linear_model.json`, written by
//! `scripts/gen_reference.py` (see `scripts/reference_vmap.py`).
//!
//! A linear model's squared error with shared weights and mapped examples: per-example
//! gradients (`vmap(grad(loss))`) and the `reduce_axes` total (`grad(loss).reduce_axes(["batch"])`
//! inside `vmap(..).axis_name("batch")`; JAX 0.10 has no `reduce_axes`, so its reference is the
//! `psum` of the per-example gradients over the named axis). Each is checked interpreted and
//! through `jit`, which must compile once.

use gradjit::{grad, jit, vmap, Array, Tensor};
use serde_json::Value as Json;

fn golden() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/vmap/linear_model.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("valid JSON")
}

/// An f64 array of the golden file.
fn array(j: &Json) -> Array {
    assert_eq!(j["dtype"], "f64");
    let shape: Vec<usize> = j["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data: Vec<f64> = j["data"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    Array::from_vec(shape, data).unwrap()
}

/// Agreement to 1e-12 relative to the array's largest element (f64 throughout).
fn assert_matches(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let (g, w) = (got.to_vec::<f64>().unwrap(), want.to_vec::<f64>().unwrap());
    let scale = w.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!((a - b).abs() <= 1e-12 * scale, "{what}: element {i}: gradjit {a}, JAX {b}");
    }
}

fn loss(w: Tensor, b: Tensor, x: Tensor, y: Tensor) -> Tensor {
    (&(&x.dot(&w) + &b) - &y).powi(2)
}

const IN_AXES: [Option<usize>; 4] = [None, None, Some(0), Some(0)];

#[test]
fn per_example_gradients_match_jax() {
    let g = golden();
    let inputs: Vec<Array> = g["inputs"].as_array().unwrap().iter().map(array).collect();
    let args = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
    let want: Vec<Array> = g["per_example_grads"].as_array().unwrap().iter().map(array).collect();
    let want_loss = array(&g["per_example_loss"]);

    let interpreted = vmap(grad(loss).argnums([0, 1]).return_value(true)).in_axes(IN_AXES);
    let compiled = jit(vmap(grad(loss).argnums([0, 1]).return_value(true)).in_axes(IN_AXES));
    for (how, r) in [("interpreted", interpreted.call(args).unwrap()), ("jit", compiled.call(args).unwrap())] {
        assert_matches(r.arg_grad(0).unwrap(), &want[0], &format!("{how}: per-example dw"));
        assert_matches(r.arg_grad(1).unwrap(), &want[1], &format!("{how}: per-example db"));
        assert_matches(r.value(), &want_loss, &format!("{how}: per-example loss"));
    }
    compiled.call(args).unwrap();
    assert_eq!(compiled.num_compiles(), 1);
}

#[test]
fn reduce_axes_total_matches_jax() {
    let g = golden();
    let inputs: Vec<Array> = g["inputs"].as_array().unwrap().iter().map(array).collect();
    let args = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
    let want: Vec<Array> = g["reduce_axes_total"].as_array().unwrap().iter().map(array).collect();

    let total = || {
        vmap(grad(loss).argnums([0, 1]).reduce_axes(&["batch"]))
            .in_axes(IN_AXES)
            .out_axes([Some(0), None, None])
            .axis_name("batch")
    };
    let compiled = jit(total());
    for (how, r) in [("interpreted", total().call(args).unwrap()), ("jit", compiled.call(args).unwrap())] {
        assert_matches(r.arg_grad(0).unwrap(), &want[0], &format!("{how}: reduce_axes dw"));
        assert_matches(r.arg_grad(1).unwrap(), &want[1], &format!("{how}: reduce_axes db"));
    }
    assert_eq!(compiled.num_compiles(), 1);

    // The total is the sum of the per-example gradients.
    let per_example: Vec<Array> = g["per_example_grads"].as_array().unwrap().iter().map(array).collect();
    let dw = per_example[0].to_vec::<f64>().unwrap();
    let summed: Vec<f64> = (0..3).map(|j| dw.iter().skip(j).step_by(3).sum()).collect();
    assert_matches(&Array::from(summed), &want[0], "sum of the per-example dw");
}
