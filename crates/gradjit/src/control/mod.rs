//! Control flow and custom derivatives inside traced functions.
//!
//! | function | as in | primitive |
//! |---|---|---|
//! | [`scan`](scan()), [`scan_with`](scan_with()) | `jax.lax.scan` | `scan` |
//! | [`for_loop`](for_loop()), [`for_loop_with`](for_loop_with()) | `brainpy.math.for_loop` | `scan` (no carry but the variables) |
//! | [`fori_loop`](fori_loop()) | `jax.lax.fori_loop` with static bounds | `scan` (the index is a carry) |
//! | [`while_loop`](while_loop()) | `jax.lax.while_loop` | `while` |
//! | [`cond`](cond()), [`switch`](switch()), [`ifelse`](ifelse()) | `jax.lax.cond`, `jax.lax.switch`, `brainpy.math.ifelse` | `cond` |
//! | [`custom_jvp`](custom_jvp()), [`custom_vjp`](custom_vjp()) | `jax.custom_jvp`, `jax.custom_vjp` | `custom_jvp_call`, `custom_vjp_call` |
//!
//! Each traces its body once, as a nested function, into a primitive that holds it: a loop of a
//! thousand steps is the IR of one step. They work anywhere: eagerly (the reference interpreter
//! runs the primitive), inside `make_ir`, `grad` and `jit`, and inside each other.
//!
//! **Closures and state.** A body may use tensors of the function it is called in (they become
//! operands of the primitive, consts of a loop) and read and write `Var`s. A variable a loop body
//! writes is carried from step to step, and holds its final value after the loop; one it only
//! reads is a const. Gradients flow through all of it: `grad` of a function that runs a
//! `for_loop` over a network's state is backpropagation through time.
//!
//! **Derivatives.** `scan` (so `for_loop` and `fori_loop`) and `cond` differentiate in both
//! modes; `while_loop` in forward mode only, as in JAX (reverse mode is an error naming the
//! alternatives).

mod body;
mod cond;
mod custom;
mod scan;
mod while_loop;

pub use cond::{cond, ifelse, switch};
pub use custom::{custom_jvp, custom_vjp, CustomJvp, CustomVjp};
pub use scan::{for_loop, for_loop_with, fori_loop, scan, scan_with, ScanOptions};
pub use while_loop::while_loop;
