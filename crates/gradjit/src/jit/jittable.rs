//! What `jit` compiles, and how the outputs of a compiled call come back in the function's
//! own structure.
//!
//! A compiled function returns a flat list of arrays. The structure to put them in is taken
//! once per signature, from the output of the trace ([`OutputForm`]), so a cached call only
//! fills it in:
//!
//! | function | a call on arrays returns | a call on tensors (inside a trace) returns |
//! |---|---|---|
//! | a closure or module returning `R` | `R` with arrays for tensors ([`OutputOf`](crate::OutputOf)) | `R` with tensors |
//! | `grad(f)`, `value_and_grad(f)` | `GradResult<Array>` | `GradResult<Tensor>` |
//!
//! so `jit(grad(f)).call(x)` has the accessors and BrainPy structure of `grad(f).call(x)`.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::grad::{Call, Grad, GradResult, ModuleCall};
use crate::signature::{Output, Param, TraceFn};
use crate::tensor::Tensor;
use crate::tree::{Tree, TreeDef};

/// How to put a compiled function's output leaves back together; made at trace time.
pub struct OutputForm(Form);

enum Form {
    /// A pytree (closures and modules).
    Tree(TreeDef),
    /// A `GradResult` with `()` leaves: its structure and metadata.
    Grad(GradResult<()>),
}

/// A function `jit` can compile: a closure of tensors, a module implementing [`Call`], or a
/// [`Grad`] (`grad(f)`, `value_and_grad(f)` with any options).
pub trait Jittable<P>: TraceFn<P> {
    /// What a call on arrays returns.
    type Result;
    /// What a call on tensors returns (traced tensors inside another transformation).
    type Traced: Output;

    /// The output's leaves, in flattening order, and its form.
    #[doc(hidden)]
    fn split(out: Self::Out) -> Result<(Vec<Tensor>, OutputForm)>;
    /// [`Jittable::split`] of a call's output on tensors (what `vmap` of this function returns
    /// inside `jit`).
    #[doc(hidden)]
    fn split_traced(out: Self::Traced) -> Result<(Vec<Tensor>, OutputForm)>;
    /// The result of a call from its output arrays.
    #[doc(hidden)]
    fn arrays(form: &OutputForm, leaves: impl Iterator<Item = Array>) -> Result<Self::Result>;
    /// The result of a call on tensors from its output tensors.
    #[doc(hidden)]
    fn tensors(form: &OutputForm, leaves: impl Iterator<Item = Tensor>) -> Result<Self::Traced>;
}

/// The leaves of `out` and its tree form.
fn split_tree<R: Output>(out: R) -> Result<(Vec<Tensor>, OutputForm)> {
    let (leaves, def) = out.into_tree()?.flatten();
    Ok((leaves, OutputForm(Form::Tree(def))))
}

/// `leaves` in `def`'s structure, with the type `R` declares for it.
fn rebuild_tree<R: Output, L>(form: &OutputForm, mut leaves: impl Iterator<Item = L>) -> Result<R::With<L>> {
    let Form::Tree(def) = &form.0 else {
        return Err(Error::Structure("a jitted function's output form does not match its type".into()));
    };
    let tree = fill(def.as_tree(), &mut leaves)?;
    exhausted(leaves)?;
    R::rebuild(tree)
        .ok_or_else(|| Error::Structure(format!("the function's output {def} does not have its declared type")))
}

/// `form` with each `()` replaced by the next leaf: the hot path of a call, so it makes no
/// intermediate list and allocates each group once, at its size.
fn fill<L>(form: &Tree<()>, leaves: &mut impl Iterator<Item = L>) -> Result<Tree<L>> {
    let group = |items: &[Tree<()>], leaves: &mut _| -> Result<Vec<Tree<L>>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(fill(item, leaves)?);
        }
        Ok(out)
    };
    Ok(match form {
        Tree::Leaf(()) => Tree::Leaf(
            leaves.next().ok_or_else(|| Error::Structure("a jitted function returned too few outputs".into()))?,
        ),
        Tree::Tuple(items) => Tree::Tuple(group(items, leaves)?),
        Tree::List(items) => Tree::List(group(items, leaves)?),
        Tree::Dict(entries) => {
            Tree::Dict(entries.iter().map(|(k, t)| Ok((k.clone(), fill(t, leaves)?))).collect::<Result<_>>()?)
        }
        Tree::None => Tree::None,
    })
}

fn exhausted<L>(mut leaves: impl Iterator<Item = L>) -> Result<()> {
    match leaves.next() {
        None => Ok(()),
        Some(_) => Err(Error::Structure("a jitted function returned too many outputs".into())),
    }
}

/// The leaves of a `GradResult` in a fixed order (loss, argument gradients, variable
/// gradients, aux) and its form.
fn split_grad(r: GradResult<Tensor>) -> (Vec<Tensor>, OutputForm) {
    let mut leaves = vec![r.value];
    let mut take = |t: Tree<Tensor>| t.into_map(|leaf| leaves.push(leaf));
    let form = GradResult {
        args: r.args.map(&mut take),
        args_is_seq: r.args_is_seq,
        vars: r.vars.map(|(t, ids)| (take(t), ids)),
        value: (),
        aux: r.aux.map(&mut take),
        return_value: r.return_value,
    };
    (leaves, OutputForm(Form::Grad(form)))
}

/// A `GradResult` of the form's structure holding `leaves` (in [`split_grad`]'s order).
fn rebuild_grad<L>(form: &OutputForm, mut leaves: impl Iterator<Item = L>) -> Result<GradResult<L>> {
    let Form::Grad(g) = &form.0 else {
        return Err(Error::Structure("a jitted grad's output form is not a gradient result".into()));
    };
    let too_few = || Error::Structure("a jitted grad returned too few outputs".into());
    let value = leaves.next().ok_or_else(too_few)?;
    let r = GradResult {
        args: g.args.as_ref().map(|t| fill(t, &mut leaves)).transpose()?,
        args_is_seq: g.args_is_seq,
        vars: g.vars.as_ref().map(|(t, ids)| Ok::<_, Error>((fill(t, &mut leaves)?, ids.clone()))).transpose()?,
        value,
        aux: g.aux.as_ref().map(|t| fill(t, &mut leaves)).transpose()?,
        return_value: g.return_value,
    };
    exhausted(leaves)?;
    Ok(r)
}

/// Closures of 0 to 6 parameters (as [`TraceFn`]): the output's tree structure.
macro_rules! jittable_closures {
    ($(($($P:ident),*)),*) => {$(
        impl<Func, R, $($P: Param),*> Jittable<($($P,)*)> for Func
        where
            Func: Fn($($P),*) -> R,
            R: Output,
            R::With<Tensor>: Output,
        {
            type Result = R::With<Array>;
            type Traced = R::With<Tensor>;
            fn split(out: R) -> Result<(Vec<Tensor>, OutputForm)> {
                split_tree(out)
            }
            fn split_traced(out: Self::Traced) -> Result<(Vec<Tensor>, OutputForm)> {
                split_tree(out)
            }
            fn arrays(form: &OutputForm, leaves: impl Iterator<Item = Array>) -> Result<Self::Result> {
                rebuild_tree::<R, _>(form, leaves)
            }
            fn tensors(form: &OutputForm, leaves: impl Iterator<Item = Tensor>) -> Result<Self::Traced> {
                rebuild_tree::<R, _>(form, leaves)
            }
        }
    )*};
}
jittable_closures!((), (P0), (P0, P1), (P0, P1, P2), (P0, P1, P2, P3), (P0, P1, P2, P3, P4), (P0, P1, P2, P3, P4, P5));

/// A module's call (BrainPy's `jit(obj)`): like a closure.
impl<'m, M, Args> Jittable<ModuleCall<Args>> for &'m M
where
    M: Call<Args>,
    &'m M: TraceFn<ModuleCall<Args>, Out = M::Out>,
    <M::Out as Output>::With<Tensor>: Output,
{
    type Result = <M::Out as Output>::With<Array>;
    type Traced = <M::Out as Output>::With<Tensor>;
    fn split(out: M::Out) -> Result<(Vec<Tensor>, OutputForm)> {
        split_tree(out)
    }
    fn split_traced(out: Self::Traced) -> Result<(Vec<Tensor>, OutputForm)> {
        split_tree(out)
    }
    fn arrays(form: &OutputForm, leaves: impl Iterator<Item = Array>) -> Result<Self::Result> {
        rebuild_tree::<M::Out, _>(form, leaves)
    }
    fn tensors(form: &OutputForm, leaves: impl Iterator<Item = Tensor>) -> Result<Self::Traced> {
        rebuild_tree::<M::Out, _>(form, leaves)
    }
}

/// `jit(grad(f))`: the gradient result, with its accessors and BrainPy structure.
impl<G: TraceFn<P>, P> Jittable<P> for Grad<G, P> {
    type Result = GradResult<Array>;
    type Traced = GradResult<Tensor>;
    fn split(out: GradResult<Tensor>) -> Result<(Vec<Tensor>, OutputForm)> {
        Ok(split_grad(out))
    }
    fn split_traced(out: GradResult<Tensor>) -> Result<(Vec<Tensor>, OutputForm)> {
        Ok(split_grad(out))
    }
    fn arrays(form: &OutputForm, leaves: impl Iterator<Item = Array>) -> Result<GradResult<Array>> {
        rebuild_grad(form, leaves)
    }
    fn tensors(form: &OutputForm, leaves: impl Iterator<Item = Tensor>) -> Result<GradResult<Tensor>> {
        rebuild_grad(form, leaves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::var::VarId;

    fn leaf<T>(v: T) -> Tree<T> {
        Tree::Leaf(v)
    }

    #[test]
    fn a_grad_result_round_trips_through_its_form() {
        let r = GradResult {
            args: Some(Tree::tuple([leaf(Tensor::from(1.0f32)), leaf(Tensor::from(2.0f32))])),
            args_is_seq: true,
            vars: Some((Tree::list([leaf(Tensor::from(3.0f32))]), Vec::<VarId>::new())),
            value: Tensor::from(0.0f32),
            aux: Some(leaf(Tensor::from(4.0f32))),
            return_value: true,
        };
        let (leaves, form) = split_grad(r);
        let values: Vec<f64> = leaves.iter().map(|t| t.item().unwrap()).collect();
        assert_eq!(values, [0.0, 1.0, 2.0, 3.0, 4.0], "loss, args, vars, aux");
        let back = rebuild_grad(&form, leaves.into_iter()).unwrap();
        assert_eq!(back.tree().structure().to_string(), "(([*], (*, *)), *, *)");
        assert_eq!(back.value().item().unwrap(), 0.0);
        assert!(rebuild_grad(&form, std::iter::empty::<Tensor>()).is_err());
    }
}
