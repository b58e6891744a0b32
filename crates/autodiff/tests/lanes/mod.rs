//! The oracle of the batching tests: `vmap(f)` on stacked inputs must equal `f` run lane by lane.

#![allow(dead_code)]

use gradjit_autodiff::vmap;
use gradjit_ir::interp::{apply, run};
use gradjit_ir::{Axes, Function, HostArray, Prim, Shape};

/// `xs` (of equal types) stacked along a new dimension `axis`.
pub fn stack(xs: &[HostArray], axis: usize) -> HostArray {
    let one = |x: &HostArray| {
        let mut dims = x.shape().dims().to_vec();
        dims.insert(0, 1);
        apply(&Prim::Reshape { shape: Shape::from(dims) }, &[x]).expect("reshape")[0].clone()
    };
    let parts: Vec<HostArray> = xs.iter().map(one).collect();
    let refs: Vec<&HostArray> = parts.iter().collect();
    let stacked = apply(&Prim::Concatenate { axis: 0 }, &refs).expect("concatenate")[0].clone();
    let rank = stacked.shape().rank();
    let mut perm: Axes = (1..rank).collect();
    perm.insert(axis, 0);
    apply(&Prim::Transpose { perm }, &[&stacked]).expect("transpose")[0].clone()
}

/// Element `i` of `x` along `axis` (that dimension removed).
pub fn lane(x: &HostArray, axis: usize, i: usize) -> HostArray {
    let dims = x.shape().dims();
    let start: Axes = (0..dims.len()).map(|d| if d == axis { i } else { 0 }).collect();
    let limit: Axes = (0..dims.len()).map(|d| if d == axis { i + 1 } else { dims[d] }).collect();
    let stride: Axes = dims.iter().map(|_| 1).collect();
    let s = apply(&Prim::Slice { start, limit, stride }, &[x]).expect("slice")[0].clone();
    let kept: Vec<usize> = (0..dims.len()).filter(|&d| d != axis).map(|d| dims[d]).collect();
    apply(&Prim::Reshape { shape: Shape::from(kept) }, &[&s]).expect("reshape")[0].clone()
}

/// True if `a` and `b` agree to `tol` relative error (NaNs agree with NaNs; exact for non-floats).
pub fn close(a: &HostArray, b: &HostArray, tol: f64) -> bool {
    a.ty() == b.ty()
        && a.scalars().zip(b.scalars()).all(|(x, y)| {
            let (x, y) = (x.to_c128(), y.to_c128());
            (x.re.is_nan() && y.re.is_nan()) || (x - y).norm() <= tol * (1.0 + x.norm() + y.norm())
        })
}

/// Checks `vmap(f, in_axes, out_axes)` on `lanes` (one argument list per lane; an unmapped
/// argument must be the same in every lane) against `f` run on each lane. Returns the batched
/// function.
pub fn check_lanes(
    f: &Function,
    in_axes: &[Option<usize>],
    out_axes: &[Option<usize>],
    axis_name: Option<&str>,
    lanes: &[Vec<HostArray>],
    what: &str,
) -> Function {
    let g =
        vmap(f, in_axes, out_axes, axis_name, lanes.len()).unwrap_or_else(|e| panic!("{what}: vmap failed: {e}\n{f}"));
    gradjit_ir::verify(&g).unwrap_or_else(|e| panic!("{what}: vmap gives an invalid function: {e}\n{g}"));
    let args: Vec<HostArray> = (0..f.params.len())
        .map(|p| match in_axes[p] {
            Some(a) => stack(&lanes.iter().map(|l| l[p].clone()).collect::<Vec<_>>(), a),
            None => lanes[0][p].clone(),
        })
        .collect();
    let got = run(&g, &args).unwrap_or_else(|e| panic!("{what}: batched run failed: {e}\n{g}"));
    for (i, l) in lanes.iter().enumerate() {
        let want = run(f, l).unwrap_or_else(|e| panic!("{what}: lane {i}: {e}\n{f}"));
        for (o, w) in want.iter().enumerate() {
            let y = match out_axes[o] {
                Some(a) => lane(&got[o], a, i),
                None => got[o].clone(),
            };
            assert!(close(&y, w, 1e-12), "{what}: lane {i}, output {o}: batched {y:?}, lane by lane {w:?}\n{f}\n{g}");
        }
    }
    g
}
