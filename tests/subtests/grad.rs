//! `test grad [argnums=0,1] [max_growth=3]` and `test jvp`: the simplified derivative IR.
//!
//! `grad` differentiates output 0 (the loss) with respect to the parameters in `argnums`
//! (default `0`) and prints the result after a line counting the equations of the function and
//! of its gradient; with `max_growth=k`, a gradient of more than `k` times the function's
//! equations fails. `jvp` prints the forward-mode derivative. Both verify their result; errors
//! (a vector loss, a bad index) print as the expected output of negative tests.

use super::Args;
use gradjit_autodiff as ad;
use gradjit_ir::{verify, Function};

pub fn run(f: &Function, args: &Args) -> Result<String, String> {
    args.allow_only(&["argnums", "max_growth"])?;
    let argnums = match args.get("argnums") {
        None => vec![0],
        Some(list) => list
            .split(',')
            .map(|n| n.trim().parse::<usize>().map_err(|_| format!("bad argnums `{list}`")))
            .collect::<Result<Vec<_>, _>>()?,
    };
    let g = ad::grad(f, &argnums).map_err(|e| format!("error: {e}"))?;
    verify(&g).map_err(|e| format!("the gradient does not verify: {e}"))?;
    let (n, m) = (f.eqns.len(), g.eqns.len());
    if let Some(k) = args.get("max_growth") {
        let k: usize = k.parse().map_err(|_| format!("bad max_growth `{k}`"))?;
        if m > k * n {
            return Err(format!("the gradient has {m} equations, more than {k} x {n}:\n{g}"));
        }
    }
    Ok(format!("# function: {n} equations; gradient: {m} equations\n{g}"))
}

pub fn run_jvp(f: &Function, args: &Args) -> Result<String, String> {
    args.allow_only(&[])?;
    let j = ad::jvp(f).map_err(|e| format!("error: {e}"))?;
    verify(&j).map_err(|e| format!("the JVP does not verify: {e}"))?;
    Ok(j.to_string())
}
