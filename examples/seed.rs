//! The example of BrainPy's `grad` documentation, in Rust: gradients with respect to a
//! module's trainable variable and to two arguments, with the loss and auxiliary data.
//!
//! Run with `cargo run --release --example seed`.

use gradjit::{grad, make_ir, Array, Call, Module, ModuleName, Tensor, TrainVar};

#[derive(Module)]
struct Example {
    name: ModuleName,
    x: TrainVar,
    y: Array,
}

impl Example {
    fn new() -> Example {
        Example {
            name: ModuleName::of::<Self>(),
            x: TrainVar::new(Array::zeros([1])),
            y: gradjit::random::rand([10]).to_array().expect("eager random numbers"),
        }
    }
}

impl Call<(Tensor, Tensor)> for Example {
    type Out = (Tensor, Tensor);
    /// `mean(tanh(z*v + x*sum(y)))`, with `t2` as auxiliary data.
    fn call(&self, (z, v): (Tensor, Tensor)) -> (Tensor, Tensor) {
        let t1 = self.x.value() * Tensor::from(&self.y).sum();
        let t2 = (z * v + t1).tanh();
        (t2.mean(), t2)
    }
}

fn main() -> gradjit::Result<()> {
    let f = Example::new();
    let z = Array::full(0.5, [10]);
    let v = (Tensor::from(Array::arange(10)) * 0.1).to_array()?;

    println!("variables of the module: {:?}", f.vars()?.names().collect::<Vec<_>>());
    let ir = make_ir(|z: Tensor, v: Tensor| f.call((z, v)).0, (&z, &v))?;
    println!("\ntraced IR of the loss:\n{ir}\n");

    // BrainPy: bm.grad(f, grad_vars=f.x, argnums=(0, 1), has_aux=True, return_value=True)
    let f_grad = grad(&f).grad_vars(&f.x).argnums([0, 1]).has_aux(true).return_value(true);
    let result = f_grad.call((&z, &v))?;
    println!("structure: ((var_grads, arg_grads), loss, aux) = {}\n", result.tree());
    println!("loss     = {}", result.value());
    println!("d loss/dx = {}", result.var_grads().expect("grad_vars given"));
    println!("d loss/dz = {}", result.arg_grad(0).expect("argnum 0"));
    println!("d loss/dv = {}", result.arg_grad(1).expect("argnum 1"));
    println!("aux (t2) = {}", result.aux().expect("has_aux"));
    Ok(())
}
