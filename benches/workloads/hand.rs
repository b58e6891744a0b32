//! Hand-written gradients of W1 and W5: plain scalar f32 loops, the column a programmer who
//! derives the gradient by hand and writes one loop would get. They write into buffers
//! allocated once, so a call moves exactly the bytes the gradient needs.

use super::engine::{BenchResult, Compiled, Engine};
use super::Workload;
use gradjit::Array;

/// W1's gradient in one pass: with `t = tanh(z*v + x*sum(y))` and `g = (1 - t^2)/n`,
/// `dz = g*v`, `dv = g*z` and `dx = sum(g) * sum(y)`. Returns `dx`.
pub fn w1_grad(x: f32, sum_y: f32, z: &[f32], v: &[f32], dz: &mut [f32], dv: &mut [f32]) -> f32 {
    let c = x * sum_y;
    let inv_n = 1.0 / z.len() as f32;
    // An f32 running sum of 1e6 terms is off in the third digit; an f64 one costs nothing here.
    let mut sum_g = 0.0f64;
    for i in 0..z.len() {
        let t = (z[i] * v[i] + c).tanh();
        let g = (1.0 - t * t) * inv_n;
        dz[i] = g * v[i];
        dv[i] = g * z[i];
        sum_g += g as f64;
    }
    sum_g as f32 * sum_y
}

/// W5's gradient: `d/dx [sin(x) exp(-x^2) + log1p(x^2)] = (cos(x) - 2x sin(x)) exp(-x^2) + 2x/(1+x^2)`.
pub fn w5_grad(x: &[f32], dx: &mut [f32]) {
    for (d, &x) in dx.iter_mut().zip(x) {
        let (s, c) = x.sin_cos();
        *d = (c - 2.0 * x * s) * (-x * x).exp() + 2.0 * x / (1.0 + x * x);
    }
}

/// The engine of the hand-written loops (W1 and W5 only).
pub struct HandWritten;

enum Loop {
    W1 { x: f32, sum_y: f32, z: Vec<f32>, v: Vec<f32>, dx: f32, dz: Vec<f32>, dv: Vec<f32> },
    W5 { x: Vec<f32>, dx: Vec<f32> },
}

impl Engine for HandWritten {
    fn name(&self) -> String {
        "hand-written Rust loop".into()
    }

    fn skip_reason(&self, w: &Workload) -> Option<String> {
        (!(w.id.starts_with("w1_") || w.id.starts_with("w5_"))).then(|| "hand-written for W1 and W5 only".into())
    }

    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>> {
        let f32s = |a: &Array| -> BenchResult<Vec<f32>> { Ok(a.to_vec::<f32>()?) };
        if w.id.starts_with("w1_") {
            let (z, v) = (f32s(&w.params[1])?, f32s(&w.params[2])?);
            let n = z.len();
            // y is W1's captured constant: the same stream as in the workload table.
            let sum_y = super::inputs::uniform_vec(17, 10, -0.1, 0.1).iter().sum();
            let x = f32s(&w.params[0])?[0];
            Ok(Box::new(Loop::W1 { x, sum_y, z, v, dx: 0.0, dz: vec![0.0; n], dv: vec![0.0; n] }))
        } else if w.id.starts_with("w5_") {
            let x = f32s(&w.params[0])?;
            let n = x.len();
            Ok(Box::new(Loop::W5 { x, dx: vec![0.0; n] }))
        } else {
            Err(format!("no hand-written loop for {}", w.id).into())
        }
    }
}

impl Compiled for Loop {
    fn call(&mut self) -> BenchResult<()> {
        match self {
            Loop::W1 { x, sum_y, z, v, dx, dz, dv } => *dx = w1_grad(*x, *sum_y, z, v, dz, dv),
            Loop::W5 { x, dx } => w5_grad(x, dx),
        }
        Ok(())
    }

    fn outputs(&self) -> BenchResult<Vec<Array>> {
        Ok(match self {
            Loop::W1 { dx, dz, dv, .. } => {
                vec![Array::from_vec(vec![1], vec![*dx])?, Array::from(dz.clone()), Array::from(dv.clone())]
            }
            Loop::W5 { dx, .. } => vec![Array::from(dx.clone())],
        })
    }
}
