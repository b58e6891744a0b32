//! `make_ir`: a Rust function traced into the IR, like `jax.make_jaxpr`.
//!
//! ```
//! use gradjit::{make_ir, Array, Tensor, TrainVar};
//! let x = TrainVar::new(Array::zeros([1]));
//! let y = Array::from(vec![1.0f32, 2.0]);
//! let f = |z: Tensor| (&z * &y + x.value()).tanh().sum();
//! let ir = make_ir(f, &Array::ones([2])).unwrap();
//! assert_eq!(
//!     ir.to_string(),
//!     "{ lambda ; a:f32[2] b:f32[1]. let
//!     c:f32[2] = constant[value=[1.0 2.0]]
//!     d:f32[2] = mul a c
//!     e:f32[2] = broadcast_in_dim[shape=(2,) broadcast_dimensions=(0,)] b
//!     f:f32[2] = add d e
//!     g:f32[2] = tanh f
//!     h:f32[] = reduce_sum[axes=(0,)] g
//!   in (h,) }"
//! );
//! assert_eq!(ir.var_inputs(), &[x.var().clone()]);
//! ```
//!
//! The function is traced once on abstract inputs with the arguments' shapes and dtypes (their
//! data is not read). Its implicit state is made explicit in the result:
//! - captured arrays become constants (a splat if uniform, else dense data shared, not copied);
//! - `Var`s read become parameters after the explicit ones, in first-read order
//!   ([`TracedFunction::var_inputs`]), and `Var`s written become outputs after the explicit
//!   ones, in first-write order ([`TracedFunction::var_outputs`]);
//! - tensors of an enclosing trace (when tracing inside another transformation) become the
//!   last parameters ([`TracedFunction::captures`]).

use crate::error::{Error, Result};
use crate::signature::{ArgsFor, Output, TraceFn};
use crate::tensor::Tensor;
use crate::trace::{apply_function, caller, Tracing};
use crate::tree::{Tree, TreeDef};
use crate::var::Var;
use gradjit_ir::{Function, Loc, TensorType};
use std::fmt;

/// A traced function: the IR, the argument and output structures, and the implicit state.
///
/// Parameters: the explicit arguments' leaves (argument by argument, each in flattening
/// order), then one per [`var_inputs`](Self::var_inputs), then one per
/// [`captures`](Self::captures). Outputs: the explicit output's leaves, then one per
/// [`var_outputs`](Self::var_outputs).
#[derive(Clone)]
pub struct TracedFunction {
    // Crate-visible so that transformations can build one around a transformed function.
    pub(crate) function: Function,
    pub(crate) in_trees: Vec<TreeDef>,
    pub(crate) out_tree: TreeDef,
    pub(crate) var_inputs: Vec<Var>,
    pub(crate) var_outputs: Vec<Var>,
    pub(crate) captures: Vec<Tensor>,
}

/// Traces `f` on abstract arguments of the types and structures of `args` (their data is not
/// read) and returns its IR, or the first error met while tracing, which names the operation,
/// the shapes and the source line.
#[track_caller]
pub fn make_ir<P, F: TraceFn<P>>(f: F, args: impl ArgsFor<P>) -> Result<TracedFunction> {
    let loc = caller();
    let types = args
        .into_trees()
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.try_map(|x| x.ty_or_err()).map_err(|e| Error::Argument(format!("argument {i} is not a valid value: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    trace(&f, &types, &loc)
}

/// Traces `f` on abstract arguments of types `args` (one tree per parameter): the entry point
/// shared by every transformation.
pub(crate) fn trace<P, F: TraceFn<P>>(f: &F, args: &[Tree<TensorType>], loc: &Loc) -> Result<TracedFunction> {
    let tracing = Tracing::begin();
    let params: Vec<Tree<Tensor>> = args.iter().map(|t| t.map(|ty| tracing.param(ty.clone(), loc))).collect();
    let out = f.call_trees(params).and_then(Output::into_tree);
    let out = match out {
        Ok(t) => t,
        // The first error of the trace is the cause of whatever the function returned.
        Err(e) => return Err(tracing.finish(&[], loc).err().unwrap_or(e)),
    };
    let (leaves, out_tree) = out.flatten();
    let rec = tracing.finish(&leaves, loc)?;
    Ok(TracedFunction {
        function: rec.function,
        in_trees: args.iter().map(Tree::structure).collect(),
        out_tree,
        var_inputs: rec.var_inputs,
        var_outputs: rec.var_outputs,
        captures: rec.captures,
    })
}

impl TracedFunction {
    /// IR given as data (parsed from text, or made by another tool) as a traced function of one
    /// tensor per parameter, returning its outputs as a tuple (a lone output bare), with no
    /// variables or captures. [`call`](Self::call) records its equations wherever it is called,
    /// so a closure calling it can be differentiated and jitted like any Rust function (as
    /// `jax.core.eval_jaxpr` does for a jaxpr). The function is verified first.
    ///
    /// ```
    /// use gradjit::{grad, jit, make_ir, Array, Tensor, TracedFunction};
    /// let ir = make_ir(|x: Tensor| x.sin().sum(), Array::zeros([2]))?.into_function();
    /// let f = TracedFunction::from_function(ir)?;
    /// let df = jit(grad(move |x: Tensor| -> gradjit::Result<Tensor> { Ok(f.call(&[x])?.remove(0)) }));
    /// let g = df.call(Array::from(vec![0.0f32, 0.5]))?;
    /// assert_eq!(g.arg_grad(0).unwrap().to_vec::<f32>()?, [1.0, 0.5f32.cos()]);
    /// # Ok::<(), gradjit::Error>(())
    /// ```
    pub fn from_function(function: Function) -> Result<TracedFunction> {
        gradjit_ir::verify(&function).map_err(|e| Error::Argument(format!("the function is not valid IR: {e}")))?;
        let out_tree = match function.outputs.len() {
            1 => TreeDef::leaf(),
            n => Tree::tuple((0..n).map(|_| Tree::leaf(()))).structure(),
        };
        Ok(TracedFunction {
            in_trees: vec![TreeDef::leaf(); function.params.len()],
            out_tree,
            function,
            var_inputs: Vec::new(),
            var_outputs: Vec::new(),
            captures: Vec::new(),
        })
    }

    /// The IR.
    pub fn function(&self) -> &Function {
        &self.function
    }

    /// The IR, by value.
    pub fn into_function(self) -> Function {
        self.function
    }

    /// The structure of each explicit argument.
    pub fn in_trees(&self) -> &[TreeDef] {
        &self.in_trees
    }

    /// The structure of the explicit output.
    pub fn out_tree(&self) -> &TreeDef {
        &self.out_tree
    }

    /// The number of parameters that are leaves of explicit arguments.
    pub fn num_explicit_inputs(&self) -> usize {
        self.in_trees.iter().map(TreeDef::num_leaves).sum()
    }

    /// The number of outputs that are leaves of the explicit output.
    pub fn num_explicit_outputs(&self) -> usize {
        self.out_tree.num_leaves()
    }

    /// The variables read, in first-read order: the parameters after the explicit ones.
    pub fn var_inputs(&self) -> &[Var] {
        &self.var_inputs
    }

    /// The variables written, in first-write order: the outputs after the explicit ones.
    pub fn var_outputs(&self) -> &[Var] {
        &self.var_outputs
    }

    /// Tensors of enclosing traces the function uses: its last parameters.
    pub fn captures(&self) -> &[Tensor] {
        &self.captures
    }

    /// The IR text with each equation's source location.
    pub fn to_text_with_locs(&self) -> String {
        self.function.to_text_with_locs()
    }

    /// Runs the function on the flat explicit inputs `args` in the current context: evaluated
    /// now if they are concrete, recorded into the enclosing trace otherwise. The variables
    /// are read and written as the traced function did (written back now when eager), and the
    /// explicit outputs are returned, flat.
    #[track_caller]
    pub fn call(&self, args: &[Tensor]) -> Result<Vec<Tensor>> {
        let loc = caller();
        let n = self.num_explicit_inputs();
        if args.len() != n {
            return Err(Error::Argument(format!("the traced function takes {n} input(s), got {}", args.len())));
        }
        let mut inputs = args.to_vec();
        inputs.extend(self.var_inputs.iter().map(|v| v.value_at(&loc)));
        inputs.extend(self.captures.iter().cloned());
        let mut outs = apply_function(&self.function, &inputs, &loc)?;
        let written = outs.split_off(self.num_explicit_outputs());
        for (var, value) in self.var_outputs.iter().zip(&written) {
            var.set_at(value, &loc)?;
        }
        if let Some(e) = outs.iter().find_map(Tensor::error) {
            return Err(e.clone());
        }
        Ok(outs)
    }
}

impl fmt::Display for TracedFunction {
    /// The IR text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.function, f)
    }
}

impl fmt::Debug for TracedFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |vs: &[Var]| vs.iter().map(Var::describe).collect::<Vec<_>>().join(", ");
        writeln!(f, "TracedFunction(in: {:?}, out: {}", self.in_trees, self.out_tree)?;
        writeln!(f, "  var inputs: [{}]", names(&self.var_inputs))?;
        writeln!(f, "  var outputs: [{}]", names(&self.var_outputs))?;
        writeln!(f, "  captures: {}", self.captures.len())?;
        write!(f, "{})", self.function)
    }
}
