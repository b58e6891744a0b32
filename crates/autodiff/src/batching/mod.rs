//! Batching (`vmap`) as an IR-to-IR transform, as in JAX: the function is re-emitted equation by
//! equation, each value either *batched* (it varies along the mapped axis) or not, and one
//! batching rule per primitive turns an equation on batched operands into equations on whole
//! batches.
//!
//! **One position for the batch dimension.** Inside the transform a batched value always carries
//! the mapped axis as its *leading* dimension (JAX tracks an arbitrary `bdim` per value and moves
//! it on demand; fixing it at 0 keeps every rule a renumbering of dimensions by one). `in_axes` are
//! moved to 0 when the parameters are read and `out_axes` are restored when the outputs are
//! written; a `transpose` by the identity is never emitted, so `in_axes = out_axes = 0` costs
//! nothing.
//!
//! **Unbatched operands stay unbatched.** A value that does not depend on a mapped input is not
//! broadcast until a rule needs it next to a batched one (elementwise operands, a `scan` carry
//! that becomes batched), so constants and weights shared by every lane are computed once.
//!
//! **Rules** (`rules.rs` for the primitives without sub-functions, `control.rs` for the others):
//! elementwise primitives broadcast their unbatched operands; shape primitives, reductions and
//! `dot_general` renumber their dimension parameters; `gather`/`scatter_add` with unbatched
//! indices index one dimension further in, and with per-lane indices index the lanes laid end to
//! end (offset by `lane · size`); the dynamic slices with per-lane starts are such gathers, one
//! per dimension (and a `select` of the block, for an update); `random_bits` with per-lane keys
//! runs lane by lane in a `scan` over the batch (JAX's `lax.map`), which is exact. Sub-functions are batched recursively: `scan` and `while` carries become batched at the
//! fixed point of their bodies, a `cond` on a batched index runs every branch and selects per lane,
//! a `while` whose condition is batched runs while any lane is active and keeps finished lanes
//! with a `select` (JAX's `_while_loop_batching_rule`).
//!
//! **Collectives.** `psum[axis_name=a]` (and `pmean`, `pmax`, `pmin`) inside `vmap(..., axis_name=a)`
//! becomes a reduction over the batch dimension, and its result is unbatched (every lane sees the
//! same total); over an unbatched operand it is `x · size` (`psum`) or `x`. Collectives over
//! other names are left for an enclosing `vmap`, so nested maps with different names compose.

mod control;
mod rules;

use crate::builder::Builder;
use crate::error::AdError;
use gradjit_ir::{Axes, Function, Shape, TensorType, Value};

/// A value of the batched function: `batched` values have the mapped axis as dimension 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BVal {
    pub v: Value,
    pub batched: bool,
}

impl BVal {
    fn new(v: Value, batched: bool) -> BVal {
        BVal { v, batched }
    }
}

/// What the transform knows throughout: the size of the mapped axis and its name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cx<'a> {
    pub size: usize,
    pub axis_name: Option<&'a str>,
}

impl Cx<'_> {
    /// `ty` with the mapped axis in front.
    pub fn batched_ty(&self, ty: &TensorType) -> TensorType {
        let mut dims = vec![self.size];
        dims.extend_from_slice(ty.dims());
        TensorType::new(ty.dtype, dims)
    }

    /// `x` as a batched value: broadcast along a new leading axis if it is not one already.
    pub fn materialize(&self, b: &mut Builder, x: BVal) -> Result<Value, AdError> {
        if x.batched {
            return Ok(x.v);
        }
        let ty = self.batched_ty(&b.ty(x.v));
        let dims: Axes = (1..ty.rank()).collect();
        b.broadcast_in_dim(x.v, &ty.shape, dims)
    }
}

/// How an output of a batched function is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    /// Batched or not, as it comes.
    Free,
    /// Batched, with the mapped axis at this position.
    Mapped(usize),
    /// Unbatched: an error if it depends on a mapped input (`out_axes` `None`).
    Unmapped,
}

/// `x` with dimension `from` moved to position `to` (the other dimensions keep their order).
pub(crate) fn move_axis(b: &mut Builder, x: Value, from: usize, to: usize) -> Result<Value, AdError> {
    let rank = b.ty(x).rank();
    let mut perm: Axes = (0..rank).filter(|&d| d != from).collect();
    perm.insert(to, from);
    b.transpose(x, perm)
}

/// `f` with its parameters mapped along `in_axes` (`None`: shared by every lane) and its outputs
/// returned as `out`. Returns the new function and which outputs are batched.
pub(crate) fn batch_function(
    cx: &Cx,
    f: &Function,
    in_axes: &[Option<usize>],
    out: &[Out],
) -> Result<(Function, Vec<bool>), AdError> {
    let mut g = Function::new();
    let mut env: Vec<Option<BVal>> = vec![None; f.num_values()];
    let mut moves = Vec::new();
    for (&p, &axis) in f.params.iter().zip(in_axes) {
        let ty = f.ty(p);
        let v = match axis {
            None => g.add_param(ty.clone()),
            Some(a) => {
                let mut dims = ty.dims().to_vec();
                dims.insert(a, cx.size);
                let v = g.add_param(TensorType::new(ty.dtype, dims));
                moves.push((p, v, a));
                v
            }
        };
        env[p.index()] = Some(BVal::new(v, axis.is_some()));
    }
    let mut b = Builder::new(&mut g);
    for (p, v, a) in moves {
        env[p.index()] = Some(BVal::new(move_axis(&mut b, v, a, 0)?, true));
    }
    for e in &f.eqns {
        b.loc = e.loc.clone();
        let ins = e.inputs.iter().map(|&v| lookup(&env, v)).collect::<Result<Vec<_>, _>>()?;
        let outs = rules::batch_eqn(cx, &mut b, &e.prim, &ins)?;
        for (&o, n) in e.outputs.iter().zip(outs) {
            env[o.index()] = Some(n);
        }
    }
    b.loc = None;
    let mut outputs = Vec::with_capacity(f.outputs.len());
    let mut batched = Vec::with_capacity(f.outputs.len());
    for (index, (&o, &spec)) in f.outputs.iter().zip(out).enumerate() {
        let x = lookup(&env, o)?;
        let v = match spec {
            Out::Free => x.v,
            Out::Mapped(a) => {
                let v = cx.materialize(&mut b, x)?;
                move_axis(&mut b, v, 0, a)?
            }
            Out::Unmapped if x.batched => return Err(AdError::VmapOutputMapped { index }),
            Out::Unmapped => x.v,
        };
        outputs.push(v);
        batched.push(matches!(spec, Out::Mapped(_)) || (spec == Out::Free && x.batched));
    }
    g.outputs = outputs;
    Ok((g, batched))
}

/// [`batch_function`] for a sub-function: batched parameters and outputs at axis 0, and the
/// outputs marked in `force` batched even if they do not depend on a batched parameter.
pub(crate) fn batch_body(
    cx: &Cx,
    f: &Function,
    batched: &[bool],
    force: &[bool],
) -> Result<(Function, Vec<bool>), AdError> {
    let in_axes: Vec<Option<usize>> = batched.iter().map(|&b| b.then_some(0)).collect();
    let out: Vec<Out> = (0..f.outputs.len())
        .map(|i| if force.get(i).copied().unwrap_or(false) { Out::Mapped(0) } else { Out::Free })
        .collect();
    batch_function(cx, f, &in_axes, &out)
}

fn lookup(env: &[Option<BVal>], v: Value) -> Result<BVal, AdError> {
    env.get(v.index()).copied().flatten().ok_or(AdError::Undefined { value: v.index() })
}

/// Vectorizes `f` over a new axis of `size` lanes, as `jax.vmap`: `f` is typed for one lane;
/// input `i` of the result has the mapped axis inserted at `in_axes[i]` (`None`: one value shared
/// by every lane), output `j` has it at `out_axes[j]` (`None`: the output must not depend on a
/// mapped input). Collectives (`psum` …) over `axis_name` reduce over the mapped axis.
///
/// ```
/// use gradjit_ir::{parse_function, HostArray};
/// use gradjit_autodiff::vmap;
///
/// // x / psum(x): each lane's share of the total.
/// let f = parse_function(
///     "{ lambda ; a:f64[]. let b:f64[] = psum[axis_name=i] a  c:f64[] = div a b in (c,) }",
/// ).unwrap();
/// let g = vmap(&f, &[Some(0)], &[Some(0)], Some("i"), 4).unwrap();
/// let x = HostArray::from_vec([4], vec![1.0f64, 2.0, 3.0, 4.0]).unwrap();
/// let out = gradjit_ir::interp::run(&g, &[x]).unwrap();
/// assert_eq!(out[0].to_vec::<f64>().unwrap(), vec![0.1, 0.2, 0.3, 0.4]);
/// ```
pub fn vmap(
    f: &Function,
    in_axes: &[Option<usize>],
    out_axes: &[Option<usize>],
    axis_name: Option<&str>,
    size: usize,
) -> Result<Function, AdError> {
    let count = |what, items, expected: usize, got: usize| {
        if expected == got {
            Ok(())
        } else {
            Err(AdError::VmapAxesCount { what, items, expected, got })
        }
    };
    count("in_axes", "parameter(s)", f.params.len(), in_axes.len())?;
    count("out_axes", "output(s)", f.outputs.len(), out_axes.len())?;
    let check = |what, values: &[Value], axes: &[Option<usize>]| {
        for (index, (&v, &axis)) in values.iter().zip(axes).enumerate() {
            let ty = f.ty(v);
            if let Some(axis) = axis.filter(|&a| a > ty.rank()) {
                return Err(AdError::VmapAxisRange { what, index, axis, ty: ty.clone(), rank: ty.rank() });
            }
        }
        Ok(())
    };
    check("in_axes", &f.params, in_axes)?;
    check("out_axes", &f.outputs, out_axes)?;
    let cx = Cx { size, axis_name };
    let out: Vec<Out> = out_axes.iter().map(|a| a.map_or(Out::Unmapped, Out::Mapped)).collect();
    let (g, _) = batch_function(&cx, f, in_axes, &out)?;
    Ok(crate::finish(g))
}

/// The shape `[size] ++ shape`.
pub(crate) fn batched_shape(size: usize, shape: &Shape) -> Shape {
    let mut dims = vec![size];
    dims.extend_from_slice(shape.dims());
    Shape::from(dims)
}
