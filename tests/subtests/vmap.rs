//! `test vmap size=4 [in_axes=0,-] [out_axes=0] [axis_name=batch]`: the batched IR.
//!
//! `in_axes` and `out_axes` list one entry per parameter or output, `-` for an unmapped one
//! (`None`); a single entry applies to all (default `0`). The result is verified; errors (a
//! mapped output declared unmapped, a bad axis) print as the expected output of negative tests.

use super::Args;
use gradjit_autodiff as ad;
use gradjit_ir::{verify, Function};

fn axes(arg: Option<&str>, n: usize, what: &str) -> Result<Vec<Option<usize>>, String> {
    let list = arg.unwrap_or("0");
    let one = |w: &str| match w.trim() {
        "-" => Ok(None),
        w => w.parse().map(Some).map_err(|_| format!("bad {what} entry `{w}` in `{list}`")),
    };
    let parsed = list.split(',').map(one).collect::<Result<Vec<_>, _>>()?;
    Ok(if parsed.len() == 1 { vec![parsed[0]; n] } else { parsed })
}

pub fn run(f: &Function, args: &Args) -> Result<String, String> {
    args.allow_only(&["size", "in_axes", "out_axes", "axis_name"])?;
    let size = args.get("size").ok_or("vmap needs size=<n>")?;
    let size: usize = size.parse().map_err(|_| format!("bad size `{size}`"))?;
    let in_axes = axes(args.get("in_axes"), f.params.len(), "in_axes")?;
    let out_axes = axes(args.get("out_axes"), f.outputs.len(), "out_axes")?;
    let g = ad::vmap(f, &in_axes, &out_axes, args.get("axis_name"), size).map_err(|e| format!("error: {e}"))?;
    verify(&g).map_err(|e| format!("the batched function does not verify: {e}"))?;
    Ok(g.to_string())
}
