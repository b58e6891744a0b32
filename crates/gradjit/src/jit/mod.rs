//! `jit`: Rust functions of tensors compiled to native code, like `jax.jit` and `brainpy.math.jit`.
//!
//! ```
//! use gradjit::{grad, jit, Array, Tensor};
//! let f = jit(|x: Tensor, y: Tensor| (&x * &y).tanh().sum());
//! let (x, y) = (Array::from(vec![0.5f32, 1.0]), Array::from(vec![2.0f32, 0.25]));
//! assert!((f.call((&x, &y))?.item::<f32>()? - 1.006513).abs() < 1e-6);
//! // Gradients compile too, with every option of `grad`, and keep `grad`'s result type.
//! let df = jit(grad(|x: Tensor| x.sin().sum()).return_value(true));
//! let r = df.call(Array::from(vec![0.0f32, 1.0]))?;
//! assert_eq!(r.arg_grad(0).unwrap().to_vec::<f32>()?, [1.0, 1.0f32.cos()]);
//! assert_eq!(f.num_compiles() + df.num_compiles(), 2);
//! # Ok::<(), gradjit::Error>(())
//! ```
//!
//! # What can be jitted
//!
//! A closure of tensors, a reference to a module implementing [`Call`](crate::Call), or a
//! [`Grad`](crate::Grad) (`jit(grad(f))`, `jit(value_and_grad(f))`): see [`Jittable`]. A call
//! returns what the function returns with arrays for tensors; a jitted `grad` returns the same
//! [`GradResult`](crate::GradResult) as `grad(f).call`.
//!
//! # Caching
//!
//! The first call with a new *signature* (each argument's structure, dtypes and shapes) traces
//! the function on abstract arguments (running the Rust closure once), differentiates it for a
//! `grad`, compiles it with `gradjit-codegen` and caches it. Later calls with that signature
//! compare their arguments' types with the cached ones in place and jump to the native code:
//! the Rust function does not run again. As with `jax.jit`, what the function reads from Rust
//! (a `RefCell`, a global) is baked in at trace time. [`Jit::num_compiles`] counts
//! compilations; when a new signature makes the function trace again, [`Jit::last_cache_miss`]
//! says which part of the signature changed, and with `GRADJIT_EXPLAIN_CACHE_MISSES=1` (or
//! [`Jit::explain_cache_misses`]) that message is also printed to stderr. The cache is bounded
//! ([`Jit::cache_capacity`]): beyond it, the least recently used signature is dropped.
//!
//! # State
//!
//! Variables are state, as in BrainPy: the variables the function reads are inputs of the
//! compiled function (their current values are passed on every call, so they are never baked
//! in), and those it writes are outputs, written back after the call. A counter variable
//! incremented inside a jitted function counts its calls. A variable's shape and dtype are
//! fixed for its lifetime, so they are part of the signature without ever changing it.
//!
//! # Composition
//!
//! A `Jit` is a traceable function itself: called on traced tensors (inside `grad`, another
//! `jit`, `make_ir`), it inlines the IR it traced for that signature into the enclosing trace
//! instead of running native code, so `grad(jit(f))` differentiates through it. Its output is
//! then the function's output with tensors ([`Jittable::Traced`]); [`Jit::apply`] gives that
//! form directly.
//!
//! # Threads, dumps and errors
//!
//! A `Jit` is `Send + Sync` when its function is: one jitted function may be called from many
//! threads at once (the cache is shared; a signature first met by two threads at once may be
//! traced by both, and one result is kept). [`Jit::threads`] sets the threads of the compiled
//! kernels. [`Jit::dumps`] keeps the text of every stage ([`Jit::compile`] returns them), and
//! `GRADJIT_DUMP=<dir>` writes them for every compilation (docs/dumps.md). A function the
//! backend cannot compile is an `Err` ([`Error::Op`] with op `jit`), never a panic.

mod cache;
mod jittable;
pub(crate) mod stages;

pub use jittable::{Jittable, OutputForm};
pub use stages::Compiled;

use crate::array::Array;
use crate::error::{Error, Result};
use crate::grad::{signature, var_values, write_back, Signature};
use crate::signature::{ArgsFor, HostLeaves, TraceFn};
use crate::tensor::{Repr, Tensor};
use crate::trace::{apply_function, is_tracing, placement, Placement, Recorded, Tracing};
use crate::tree::Tree;
use cache::{Cache, Entry};
use gradjit_codegen::{CompileOptions, Executable};
use gradjit_ir::{HostArray, Loc};
use smallvec::SmallVec;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, PoisonError};

/// The environment variable that prints why a jitted function traces again.
pub const EXPLAIN_CACHE_MISSES_ENV: &str = "GRADJIT_EXPLAIN_CACHE_MISSES";

/// A function compiled to native code on first use for each signature (see the
/// [module docs](self)). `P` is the tuple of the function's parameter types.
pub struct Jit<F, P> {
    f: F,
    options: JitOptions,
    cache: Cache,
    _params: PhantomData<fn(P)>,
}

/// The options of a jitted function, set with the builder methods of [`Jit`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JitOptions {
    /// Threads of the compiled kernels: `None` shares the process-wide pool, `Some(1)` runs on
    /// the caller's thread. Results do not depend on it.
    pub threads: Option<usize>,
    /// Keep the text of every stage ([`Jit::compile`]).
    pub dumps: bool,
    /// Print why the function traces again (also on with `GRADJIT_EXPLAIN_CACHE_MISSES=1`).
    pub explain_cache_misses: bool,
    /// The most signatures kept; beyond it the least recently used is dropped (default
    /// [`DEFAULT_CACHE_CAPACITY`]).
    pub cache_capacity: usize,
}

/// Signatures a jitted function keeps by default: codegen's cache capacity.
pub const DEFAULT_CACHE_CAPACITY: usize = gradjit_codegen::DEFAULT_CACHE_CAPACITY;

impl Default for JitOptions {
    fn default() -> JitOptions {
        JitOptions { threads: None, dumps: false, explain_cache_misses: false, cache_capacity: DEFAULT_CACHE_CAPACITY }
    }
}

/// `f` compiled to native code on first use for each signature: a closure, a module (`&M` where
/// `M: Call`) or a `grad` function. See the [module docs](self).
pub fn jit<P, F: Jittable<P>>(f: F) -> Jit<F, P> {
    let options = JitOptions::default();
    Jit { f, cache: Cache::new(options.cache_capacity), options, _params: PhantomData }
}

/// Where the user called a jitted function.
type Site = &'static Location<'static>;

/// The outputs of one call: native arrays, or tensors (of the enclosing trace, or concrete).
enum Outputs {
    Native(Vec<HostArray>),
    Tensors(Vec<Tensor>),
}

impl<F, P> Jit<F, P> {
    /// The options, changed by `set`; the cache, which depends on them, starts anew.
    fn with(mut self, set: impl FnOnce(&mut JitOptions)) -> Self {
        set(&mut self.options);
        self.cache = Cache::new(self.options.cache_capacity);
        self
    }

    /// Runs the compiled kernels on `n` threads (`1`: on the caller's thread); by default they
    /// share the process-wide pool. Results are the same for any number.
    pub fn threads(self, n: usize) -> Self {
        self.with(|o| o.threads = Some(n))
    }

    /// Keeps the text of every compilation stage, for [`Jit::compile`].
    pub fn dumps(self, on: bool) -> Self {
        self.with(|o| o.dumps = on)
    }

    /// Prints to stderr which part of the signature changed whenever the function traces again
    /// (as `GRADJIT_EXPLAIN_CACHE_MISSES=1` does for every jitted function).
    pub fn explain_cache_misses(self, on: bool) -> Self {
        self.with(|o| o.explain_cache_misses = on)
    }

    /// Keeps at most `n` signatures compiled: a call with another one drops the least recently
    /// used (default [`DEFAULT_CACHE_CAPACITY`]).
    pub fn cache_capacity(self, n: usize) -> Self {
        self.with(|o| o.cache_capacity = n)
    }

    /// The options.
    pub fn options(&self) -> &JitOptions {
        &self.options
    }

    /// How many times the function was compiled to native code: once per signature called on
    /// data.
    pub fn num_compiles(&self) -> usize {
        self.cache.compiles.load(Ordering::Relaxed)
    }

    /// How many times the function was traced: once per new signature (and once per call whose
    /// trace captures tensors of an enclosing trace, which cannot be cached).
    pub fn num_traces(&self) -> usize {
        self.cache.traces.load(Ordering::Relaxed)
    }

    /// How many signatures are cached.
    pub fn num_cached(&self) -> usize {
        self.cache.len()
    }

    /// Why the function last traced again: which part of the signature differed from the
    /// closest cached one (`argument 0: f32[4] instead of f32[3]`).
    pub fn last_cache_miss(&self) -> Option<String> {
        self.cache.last_miss.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl<F: Jittable<P>, P> Jit<F, P> {
    /// Calls the function on `args` (a tuple of arguments, or one argument alone) with native
    /// code, compiling it first for a new signature.
    #[track_caller]
    pub fn call(&self, args: impl ArgsFor<P>) -> Result<F::Result> {
        let site = Location::caller();
        if let Some(ran) = self.run_cached(&args, site) {
            let (entry, outs) = ran?;
            return F::arrays(&entry.form, outs.into_iter().map(Array::from_host));
        }
        let (entry, outs) = self.run(args.into_trees(), site)?;
        match outs {
            Outputs::Native(outs) => F::arrays(&entry.form, outs.into_iter().map(Array::from_host)),
            Outputs::Tensors(outs) => {
                let loc = Loc::from_std(site);
                let arrays = outs.iter().map(|t| t.to_array_at(&loc)).collect::<Result<Vec<_>>>()?;
                F::arrays(&entry.form, arrays.into_iter())
            }
        }
    }

    /// Calls the function on tensors: with native code when they are concrete, and by inlining
    /// the traced IR into the enclosing trace when some are traced.
    #[track_caller]
    pub fn apply(&self, args: impl ArgsFor<P>) -> Result<F::Traced> {
        let site = Location::caller();
        match self.run_cached(&args, site) {
            Some(ran) => {
                let (entry, outs) = ran?;
                F::tensors(&entry.form, outs.into_iter().map(Tensor::from))
            }
            None => self.apply_trees(args.into_trees(), site),
        }
    }

    /// Traces and compiles the function for the signature of `args` (without running it), or
    /// returns the cached compilation: its native code and, with [`Jit::dumps`], the text of
    /// every stage.
    #[track_caller]
    pub fn compile(&self, args: impl ArgsFor<P>) -> Result<Compiled> {
        let site = Location::caller();
        let loc = Loc::from_std(site);
        let sig = signature(&args.into_trees())?;
        let entry = match self.cache.get(&sig) {
            Some(entry) => entry,
            None => {
                let (entry, captures) = self.trace(&sig, &loc)?;
                if !captures.is_empty() {
                    let message = "the function uses tensors of an enclosing trace, so it cannot be compiled alone";
                    return Err(Error::op("jit", message, loc));
                }
                entry
            }
        };
        let exe = self.executable(&entry, site)?.clone();
        Ok(Compiled { exe, front: entry.stages.clone() })
    }

    fn apply_trees(&self, args: Vec<Tree<Tensor>>, site: Site) -> Result<F::Traced> {
        let (entry, outs) = self.run(args, site)?;
        match outs {
            Outputs::Native(outs) => F::tensors(&entry.form, outs.into_iter().map(Tensor::from)),
            Outputs::Tensors(outs) => F::tensors(&entry.form, outs.into_iter()),
        }
    }

    /// The hot path: a cached signature called on data, outside any trace, matched against the
    /// borrowed arguments in place, so that no argument tree is built (nor any `Arc` of the data
    /// touched). It looks at nothing else, not even the call's location (made only for an error
    /// or a variable to write). `None` when it does not apply: the call then builds the trees.
    fn run_cached(&self, args: &impl ArgsFor<P>, site: Site) -> Option<Result<(Arc<Entry>, Vec<HostArray>)>> {
        if is_tracing() {
            return None;
        }
        let mut hosts = HostLeaves::new();
        let entry = self.cache.find_by(|sig| {
            hosts.clear();
            args.match_signature(sig, &mut hosts)
        })?;
        Some(self.run_native(&entry, &hosts, site).map(|outs| (entry, outs)))
    }

    /// Runs the function on `args` (called at `site`) and returns its entry (for the output form)
    /// and output leaves.
    fn run(&self, args: Vec<Tree<Tensor>>, site: Site) -> Result<(Arc<Entry>, Outputs)> {
        // A cached signature called on data whose trees had to be built (a Rust scalar argument).
        if !is_tracing() {
            if let Some(entry) = self.cache.find(&args) {
                let mut hosts: SmallVec<[&HostArray; 8]> = SmallVec::new();
                if args.iter().all(|t| concrete_leaves(t, &mut hosts)) {
                    let outs = self.run_native(&entry, &hosts, site)?;
                    return Ok((entry, Outputs::Native(outs)));
                }
            }
        }
        let loc = &Loc::from_std(site);
        let sig = signature(&args)?;
        let (entry, captures) = match self.cache.get(&sig) {
            Some(entry) => (entry, Vec::new()),
            None => self.trace(&sig, loc)?,
        };
        let mut inputs: Vec<Tensor> = args.into_iter().flat_map(Tree::into_leaves).collect();
        let num_explicit = inputs.len();
        inputs.extend(var_values(&entry.var_inputs, loc));
        inputs.extend(captures);
        let refs: Vec<&Tensor> = inputs.iter().collect();
        match placement(&refs, loc)? {
            Placement::Eager => {
                let hosts: SmallVec<[&HostArray; 8]> =
                    inputs[..num_explicit].iter().filter_map(Tensor::concrete).map(Array::as_host).collect();
                let outs = self.run_native(&entry, &hosts, site)?;
                Ok((entry, Outputs::Native(outs)))
            }
            Placement::Trace(_) => {
                let mut outs = apply_function(&entry.function, &inputs, loc)?;
                if let Some(e) = outs.iter().find_map(Tensor::error) {
                    return Err(e.clone());
                }
                let written = outs.split_off(entry.num_outputs.min(outs.len()));
                write_back(&entry.var_outputs, &written, loc)?;
                Ok((entry, Outputs::Tensors(outs)))
            }
        }
    }

    /// Runs the native code of `entry` on the arguments' leaves `args` and the variables' current
    /// values, writes the variables back, and returns the output leaves.
    fn run_native(&self, entry: &Entry, args: &[&HostArray], site: Site) -> Result<Vec<HostArray>> {
        let exe = self.executable(entry, site)?;
        // The variables' values live here for the call; a function without state skips them.
        let vars: SmallVec<[Array; 4]>;
        let with_vars: SmallVec<[&HostArray; 8]>;
        let inputs = if entry.var_inputs.is_empty() {
            args
        } else {
            vars = entry.var_inputs.iter().map(|v| v.get()).collect();
            with_vars = args.iter().copied().chain(vars.iter().map(Array::as_host)).collect();
            &with_vars
        };
        let mut outs = exe.run(inputs).map_err(|e| Error::Eval {
            op: "jit".into(),
            message: e.to_string(),
            loc: Loc::from_std(site),
        })?;
        if outs.len() != entry.num_outputs + entry.var_outputs.len() {
            return Err(Error::Structure("the compiled function returned the wrong number of outputs".into()));
        }
        if !entry.var_outputs.is_empty() {
            let loc = Loc::from_std(site);
            for (var, value) in entry.var_outputs.iter().zip(outs.drain(entry.num_outputs..)) {
                var.set_at(&Tensor::from(value), &loc)?;
            }
        }
        Ok(outs)
    }

    /// The native code of `entry`, compiled on first use.
    fn executable<'e>(&self, entry: &'e Entry, site: Site) -> Result<&'e Executable> {
        if let Some(exe) = entry.exe.get() {
            return Ok(exe);
        }
        let loc = &Loc::from_std(site);
        let opts = CompileOptions { simplify: true, threads: self.options.threads, dumps: self.options.dumps };
        self.cache.compiles.fetch_add(1, Ordering::Relaxed);
        let compiler = gradjit_codegen::global_compiler().map_err(|e| compile_error(e, loc))?;
        let exe = compiler.compile(&entry.function, &opts).map_err(|e| compile_error(e, loc))?;
        if let Some(dir) = gradjit_codegen::dump::dump_dir().filter(|_| !entry.stages.is_empty()) {
            stages::write(&dir, &compiler.dump_stem(&entry.function, &opts), &entry.stages).map_err(|e| {
                Error::op("jit", format!("cannot write the dump files to {}: {e}", dir.display()), loc.clone())
            })?;
        }
        Ok(entry.exe.get_or_init(|| exe))
    }

    /// Traces the function at `sig` into a new entry (cached unless the trace captured tensors of
    /// an enclosing trace, which are returned with it).
    fn trace(&self, sig: &Signature, loc: &Loc) -> Result<(Arc<Entry>, Vec<Tensor>)> {
        self.cache.traces.fetch_add(1, Ordering::Relaxed);
        self.explain_miss(sig, loc);
        let record = self.options.dumps || gradjit_codegen::dump::dump_dir().is_some();
        let (traced, stages) = stages::recording(record, || trace_split(&self.f, sig, loc));
        let (rec, form, num_outputs) = traced.map_err(|e| at_call_site(e, loc))?;
        let entry = Entry {
            sig: sig.clone(),
            function: rec.function,
            var_inputs: rec.var_inputs,
            var_outputs: rec.var_outputs,
            num_outputs,
            form,
            stages,
            exe: OnceLock::new(),
        };
        if rec.captures.is_empty() {
            Ok((self.cache.insert(entry), Vec::new()))
        } else {
            Ok((Arc::new(entry), rec.captures))
        }
    }

    /// Keeps (and, when asked, prints) why `sig` missed a non-empty cache.
    fn explain_miss(&self, sig: &Signature, loc: &Loc) {
        let Some(why) = self.cache.explain_miss(sig) else { return };
        let n = self.cache.len() + 1;
        let message = format!("jit traces again for the call at {loc} (signature {n} of this function): {why}");
        let from_env = std::env::var_os(EXPLAIN_CACHE_MISSES_ENV).is_some_and(|v| !v.is_empty() && v != "0");
        if self.options.explain_cache_misses || from_env {
            eprintln!("gradjit: {message}");
        }
        *self.cache.last_miss.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
    }
}

/// `e`, located at the user's call `loc` if it points into gradjit's own source: a `grad` that
/// `jit` traces is called from inside gradjit, and its checks (a non-scalar loss, ...) are located
/// at that call.
fn at_call_site(e: Error, loc: &Loc) -> Error {
    // This file is `<crate>/src/jit/mod.rs`: the crate's sources are what precedes `jit/mod.rs`.
    let src = file!().strip_suffix("jit/mod.rs").unwrap_or(file!());
    if !e.loc().is_some_and(|l| l.file.starts_with(src)) {
        return e;
    }
    let loc = loc.clone();
    match e {
        Error::Grad { error, .. } => Error::Grad { error, loc },
        Error::Op { op, message, .. } => Error::Op { op, message, loc },
        Error::Eval { op, message, .. } => Error::Eval { op, message, loc },
        Error::VarWrite { var, message, .. } => Error::VarWrite { var, message, loc },
        e => e,
    }
}

/// A codegen failure as a gradjit error at the call.
fn compile_error(e: gradjit_codegen::CodegenError, loc: &Loc) -> Error {
    Error::op("jit", format!("cannot compile the function: {e}"), loc.clone())
}

/// Pushes the host arrays of `t`'s leaves; false if one is not concrete.
fn concrete_leaves<'a>(t: &'a Tree<Tensor>, out: &mut SmallVec<[&'a HostArray; 8]>) -> bool {
    match t {
        Tree::Leaf(Tensor { repr: Repr::Concrete(a) }) => {
            out.push(a.as_host());
            true
        }
        Tree::Leaf(_) => false,
        Tree::Tuple(items) | Tree::List(items) => items.iter().all(|t| concrete_leaves(t, out)),
        Tree::Dict(entries) => entries.values().all(|t| concrete_leaves(t, out)),
        Tree::None => true,
    }
}

/// Traces `f` on abstract arguments of `sig`: the recorded function, the output's form and its
/// number of leaves. (`make_ir`'s trace, keeping the output's Rust type for its form.)
fn trace_split<P, F: Jittable<P>>(
    f: &F,
    sig: &Signature,
    loc: &Loc,
) -> Result<(Recorded, jittable::OutputForm, usize)> {
    let tracing = Tracing::begin();
    let params: Vec<Tree<Tensor>> = sig.iter().map(|t| t.map(|ty| tracing.param(ty.clone(), loc))).collect();
    let (leaves, form) = match f.call_trees(params).and_then(F::split) {
        Ok(out) => out,
        // The first error of the trace is the cause of whatever the function returned.
        Err(e) => return Err(tracing.finish(&[], loc).err().unwrap_or(e)),
    };
    let rec = tracing.finish(&leaves, loc)?;
    Ok((rec, form, leaves.len()))
}

/// A `Jit` is a traceable function: inside another transformation it inlines the IR it traced,
/// so `grad(jit(f))` and `jit` inside `jit` work.
impl<F: Jittable<P>, P> TraceFn<P> for Jit<F, P> {
    type Out = F::Traced;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<F::Traced> {
        self.apply_trees(args, Location::caller())
    }
}

/// A borrowed `Jit` is traceable too, so one jitted function can be called and differentiated:
/// `let f = jit(..); let df = grad(&f);`.
impl<F: Jittable<P>, P> TraceFn<P> for &Jit<F, P> {
    type Out = F::Traced;
    const ARITY: usize = F::ARITY;
    fn call_trees(&self, args: Vec<Tree<Tensor>>) -> Result<F::Traced> {
        self.apply_trees(args, Location::caller())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grad::grad;

    #[test]
    fn every_form_of_the_same_arguments_hits_one_cached_entry() {
        let f = jit(|x: Tensor, ys: Vec<Tensor>| (&x * &ys[0] + &ys[1]).sum());
        let (x, a, b) = (Array::from(vec![1.0f32, 2.0]), Array::from(vec![3.0f32, 4.0]), Array::from(0.5f32));
        let ys = vec![a.clone(), b.clone()];
        let results = [
            f.call((&x, &ys[..])).unwrap(), // matched in place
            f.call((x.clone(), ys.clone())).unwrap(),
            f.call((Tensor::from(&x), Tree::list([Tree::leaf(a.clone()), Tree::leaf(b.clone())]))).unwrap(),
            f.call((&x, vec![Tensor::from(&a), Tensor::from(0.5f32)])).unwrap(),
        ];
        for r in &results {
            assert_eq!(r.item::<f32>().unwrap(), 12.0);
        }
        assert_eq!((f.num_traces(), f.num_compiles()), (1, 1));
        // Another shape, dtype or structure traces again; a Rust scalar (matched through its tree)
        // finds the entry of its signature.
        assert_eq!(f.call((&x, &[a.clone(), a.clone()][..])).unwrap().item::<f32>().unwrap(), 18.0);
        assert_eq!(f.num_traces(), 2);
        let g = jit(|x: Tensor, s: Tensor| (&x * &s).sum());
        assert_eq!(g.call((&x, 2.0f32)).unwrap().item::<f32>().unwrap(), 6.0);
        assert_eq!(g.call((&x, &Array::from(3.0f32))).unwrap().item::<f32>().unwrap(), 9.0);
        assert_eq!(g.call((&x, 4.0f32)).unwrap().item::<f32>().unwrap(), 12.0);
        assert_eq!(g.num_traces(), 1);
    }

    #[test]
    fn a_cached_grad_call_fills_its_result_structure() {
        let df = jit(grad(|x: Tensor, ys: Vec<Tensor>| (&x * &ys[0] * &ys[1]).sum()).argnums([0, 1]));
        let (x, a, b) =
            (Array::from(vec![1.0f32, 2.0]), Array::from(vec![3.0f32, 4.0]), Array::from(vec![5.0f32, 6.0]));
        for _ in 0..3 {
            let r = df.call((&x, &[a.clone(), b.clone()][..])).unwrap();
            assert_eq!(r.arg_grad(0).unwrap().to_vec::<f32>().unwrap(), [15.0, 24.0]);
            let ys = r.arg_grad_tree(1).unwrap();
            assert_eq!(ys[0].as_leaf().unwrap().to_vec::<f32>().unwrap(), [5.0, 12.0]);
            assert_eq!(ys[1].as_leaf().unwrap().to_vec::<f32>().unwrap(), [3.0, 8.0]);
        }
        assert_eq!(df.num_compiles(), 1);
    }
}
