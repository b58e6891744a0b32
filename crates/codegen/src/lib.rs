//! Fusion planning, memory planning and Cranelift lowering of gradjit IR.
//!
//! [`compile`] turns a [`Function`] into an [`Executable`]:
//!
//! 1. **simplify** (`gradjit_ir::passes::simplify`) and inline `call`s;
//! 2. **plan** ([`plan`]): elementwise operations, broadcasts, `iota`, splat constants and reductions fuse
//!    into loop kernels; everything else is a host step (GEMM, shape ops, ...);
//! 3. **lower** ([`lower`]): every kernel's loop nests become Cranelift functions with `f32x4`/`f64x2`
//!    inner loops, in one JIT module per compiled function;
//! 4. **memory** ([`memory`]): intermediates share a pooled arena by liveness; outputs are written in place.
//!
//! Control flow (`scan`, `while`, `cond`) stays one step of the plan whose sub-functions went through the
//! same pipeline once, at compile time, and run natively per iteration (`control`); `custom_jvp_call` and
//! `custom_vjp_call` are inlined like `call`.
//!
//! Compiled functions are cached by a [`Compiler`] (the process-wide one behind [`compile`]), and every
//! compilation can show its stages as text ([`Executable::dumps`]; `GRADJIT_DUMP=<dir>` writes them).
//!
//! ```
//! use gradjit_ir::{parse_function, HostArray};
//! use gradjit_codegen::{compile, CompileOptions};
//!
//! let f = parse_function("{ lambda ; a:f32[3] b:f32[3]. let c:f32[3] = mul a b in (c,) }").unwrap();
//! let exe = compile(&f, &CompileOptions::default()).unwrap();
//! let a = HostArray::from_vec([3], vec![1.0f32, 2.0, 3.0]).unwrap();
//! let out = exe.run(&[&a, &a]).unwrap();
//! assert_eq!(out[0].to_vec::<f32>().unwrap(), vec![1.0, 4.0, 9.0]);
//! ```

mod cache;
mod control;
pub mod dump;
pub mod error;
pub mod gemm;
mod inline;
pub mod isa;
pub mod kir;
pub mod lower;
pub mod math;
pub mod memory;
pub mod plan;
mod runtime;
pub mod shape_ops;
mod summary;

pub use dump::Dumps;
pub use error::CodegenError;
pub use plan::Plan;
pub use summary::lowering_summary;

use cranelift_codegen::isa::OwnedTargetIsa;
use gradjit_ir::{Function, HostArray, Prim, TensorType};
use memory::{ArenaLayout, Home, Pool};
use plan::{BufKind, Step};
use runtime::KernelRun;
use smallvec::SmallVec;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

/// How to compile.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CompileOptions {
    /// Run `passes::simplify` first (default true).
    pub simplify: bool,
    /// Threads for kernels and GEMMs: `None` uses the global rayon pool, `Some(1)` runs on the caller's
    /// thread, `Some(n)` a pool of `n` threads of this executable. Results do not depend on it.
    pub threads: Option<usize>,
    /// Keep the text of every stage (also forced on by `GRADJIT_DUMP`).
    pub dumps: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions { simplify: true, threads: None, dumps: false }
    }
}

/// A compiled function. Cheap to clone (a shared handle), `Send + Sync`; its machine code is freed when the
/// last handle is dropped.
#[derive(Clone)]
pub struct Executable {
    inner: Arc<Inner>,
}

struct Inner {
    plan: Plan,
    /// One entry per step: the runnable kernel, or `None` for host steps.
    kernels: Vec<Option<KernelRun>>,
    /// One entry per step: compiled control flow (`scan`, `while`, `cond`), or `None`.
    controls: Vec<Option<control::ControlStep>>,
    layout: ArenaLayout,
    pool: Pool,
    threads: Option<usize>,
    thread_pool: Option<rayon::ThreadPool>,
    dumps: Dumps,
    // Last: the code the kernels point into.
    _code: lower::JitCode,
}

impl Executable {
    /// Runs the function. Arguments are checked against the parameter types.
    pub fn run(&self, args: &[&HostArray]) -> Result<Vec<HostArray>, CodegenError> {
        let inner = &*self.inner;
        let plan = &inner.plan;
        if args.len() != plan.params.len() {
            return Err(CodegenError::ArgumentCount { expected: plan.params.len(), actual: args.len() });
        }
        for (index, (a, t)) in args.iter().zip(&plan.params).enumerate() {
            if a.ty() != t {
                return Err(CodegenError::ArgumentType { index, expected: t.clone(), actual: a.ty().clone() });
            }
        }
        match &inner.thread_pool {
            Some(pool) => pool.install(|| inner.execute(args)),
            None => inner.execute(args),
        }
    }

    /// True if both handles share the same compiled code (a cache hit).
    pub fn same(a: &Executable, b: &Executable) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }

    /// The fusion plan this executable runs.
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// The text of every compilation stage (empty strings unless dumps were requested).
    pub fn dumps(&self) -> &Dumps {
        &self.inner.dumps
    }

    pub fn param_types(&self) -> &[TensorType] {
        &self.inner.plan.params
    }

    pub fn output_types(&self) -> Vec<TensorType> {
        self.inner.plan.outputs.iter().map(|(_, t)| t.clone()).collect()
    }

    /// Bytes of the pooled arena used for intermediates per call.
    pub fn arena_bytes(&self) -> usize {
        self.inner.layout.arena_bytes
    }
}

impl Inner {
    fn execute(&self, args: &[&HostArray]) -> Result<Vec<HostArray>, CodegenError> {
        let plan = &self.plan;
        let arena = self.pool.take();
        // Small calls allocate nothing but their outputs (from the storage pool) and the result list.
        let mut outs: SmallVec<[Option<HostArray>; 8]> = plan
            .outputs
            .iter()
            .enumerate()
            .map(|(i, &(b, _))| {
                let ty = &plan.buffers[b].ty;
                // SAFETY: a buffer homed in an output is written whole by the step that defines it (as every
                // arena buffer is: the arena's bytes are stale too) before anything reads it.
                (self.layout.homes[b] == Home::Output(i))
                    .then(|| unsafe { HostArray::uninit(ty.dtype, ty.shape.clone()) })
            })
            .collect();
        let dangling = gradjit_ir::array::ALIGN as *mut u8;
        let mut ptrs: SmallVec<[*mut u8; 32]> = SmallVec::with_capacity(plan.buffers.len());
        for (b, buf) in plan.buffers.iter().enumerate() {
            ptrs.push(match (self.layout.homes[b], &buf.kind) {
                (Home::Param(p), _) => args[p].as_ptr() as *mut u8,
                (Home::Const, BufKind::Const(a)) => a.as_ptr() as *mut u8,
                (Home::Output(i), _) => outs[i].as_mut().map_or(dangling, |a| a.as_mut_ptr()),
                // SAFETY: the layout keeps every arena offset inside `arena_bytes`.
                (Home::Arena(off), _) => unsafe { arena.ptr().add(off) },
                _ => dangling,
            });
        }
        for (s, step) in plan.steps.iter().enumerate() {
            match step {
                Step::Kernel(_) => {
                    let k = self.kernels[s].as_ref().expect("every kernel step is compiled");
                    // SAFETY: buffers are bound to memory of their planned size; scratch is in the arena.
                    unsafe { k.run(&ptrs, arena.ptr().add(self.layout.scratch[s]), self.threads) };
                }
                Step::Host { inputs, outputs, .. } if self.controls[s].is_some() => {
                    let c = self.controls[s].as_ref().expect("matched as some");
                    let ins: Vec<*const u8> = inputs.iter().map(|&b| ptrs[b] as *const u8).collect();
                    let outs: Vec<*mut u8> = outputs.iter().map(|&b| ptrs[b]).collect();
                    // SAFETY: as for kernels; a host step's outputs are fresh buffers, apart from its inputs.
                    if let Err(e) = unsafe { c.run(&ins, &outs) } {
                        self.pool.give(arena);
                        return Err(e);
                    }
                }
                Step::Host { eqn, prim, inputs, outputs, types } => {
                    let ins: Vec<shape_ops::In> =
                        inputs.iter().zip(types).map(|(&b, ty)| shape_ops::In { ptr: ptrs[b], ty }).collect();
                    let out_types = &types[inputs.len()..];
                    let os: Vec<shape_ops::Out> =
                        outputs.iter().zip(out_types).map(|(&b, ty)| shape_ops::Out { ptr: ptrs[b], ty }).collect();
                    // SAFETY: as above; host steps never write their inputs.
                    let r = unsafe { shape_ops::run(prim, *eqn, &ins, &os) };
                    if let Err(e) = r {
                        self.pool.give(arena);
                        return Err(e);
                    }
                }
            }
        }
        let mut results = Vec::with_capacity(plan.outputs.len());
        for (i, (b, ty)) in plan.outputs.iter().enumerate() {
            let a = match outs[i].take() {
                Some(a) => a,
                None => {
                    let buf = &plan.buffers[*b].ty;
                    // SAFETY: every byte is copied in just below.
                    let mut a = unsafe { HostArray::uninit(buf.dtype, buf.shape.clone()) };
                    let n = a.bytes().len();
                    // SAFETY: buffer `b` holds `n` bytes (its planned type).
                    a.bytes_mut().copy_from_slice(unsafe { std::slice::from_raw_parts(ptrs[*b], n) });
                    a
                }
            };
            let a = if a.shape() == &ty.shape { a } else { a.reshaped(ty.shape.clone()).expect("same size") };
            results.push(a);
        }
        self.pool.give(arena);
        Ok(results)
    }
}

/// Compiles functions for the host and caches them.
pub struct Compiler {
    isa: OwnedTargetIsa,
    isa_key: String,
    cache: Mutex<cache::Cache>,
}

/// Compiled functions a [`Compiler`] keeps by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

impl Compiler {
    pub fn new() -> Result<Compiler, CodegenError> {
        Compiler::with_capacity(DEFAULT_CACHE_CAPACITY)
    }

    /// A compiler whose cache keeps at most `capacity` functions.
    pub fn with_capacity(capacity: usize) -> Result<Compiler, CodegenError> {
        let isa = isa::host_isa()?;
        let isa_key =
            format!("{} {}", isa.triple(), isa.isa_flags().iter().map(|f| f.to_string()).collect::<Vec<_>>().join(","));
        Ok(Compiler { isa, isa_key, cache: Mutex::new(cache::Cache::new(capacity)) })
    }

    /// Compiles `f` (or returns the cached executable of an identical earlier compilation).
    pub fn compile(&self, f: &Function, opts: &CompileOptions) -> Result<Executable, CodegenError> {
        let dump_dir = dump::dump_dir();
        let opts = CompileOptions { dumps: opts.dumps || dump_dir.is_some(), ..opts.clone() };
        let key = self.key(f, &opts);
        if let Some(e) = self.cache.lock().ok().and_then(|mut c| c.get(&key)) {
            return Ok(e);
        }
        let exe = self.compile_uncached(f, &opts)?;
        if let Some(dir) = dump_dir {
            exe.dumps().write_to(&dir, &dump_stem(&key))?;
        }
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, exe.clone());
        }
        Ok(exe)
    }

    /// The file stem (`gradjit-<hash>`) under which `GRADJIT_DUMP` writes the stages of compiling `f`
    /// with `opts`, so that a caller can write the stages before this one (traced and gradient IR) beside them.
    pub fn dump_stem(&self, f: &Function, opts: &CompileOptions) -> String {
        dump_stem(&self.key(f, &CompileOptions { dumps: true, ..opts.clone() }))
    }

    /// What identifies a compilation in the cache (options as `compile` adjusted them).
    fn key(&self, f: &Function, opts: &CompileOptions) -> String {
        format!("{opts:?}\n{}\n{f}", self.isa_key)
    }

    /// Number of cached executables.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    fn compile_uncached(&self, f: &Function, opts: &CompileOptions) -> Result<Executable, CodegenError> {
        gradjit_ir::verify(f)?;
        reject_collectives(f)?;
        let g = if opts.simplify { gradjit_ir::passes::simplify(f) } else { f.clone() };
        let g = inline::inline_calls(&g);
        let g = control::rewrite::prepare(&g);
        let Built { plan, kernels, controls, layout, clif, code } = build(&g, &self.isa, opts)?;
        let dumps = if opts.dumps {
            let nested = control::clif_of_controls(&controls);
            Dumps {
                ir: f.to_string(),
                simplified: g.to_string(),
                fusion: plan.to_string() + &control::describe_controls(&controls),
                clif: clif.clif + &nested.clif,
                clif_opt: clif.clif_opt + &nested.clif_opt,
                asm: clif.asm + &nested.asm,
            }
        } else {
            Dumps::default()
        };
        let thread_pool = match opts.threads {
            Some(n) if n > 1 => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n)
                    .build()
                    .map_err(|e| CodegenError::Unsupported(format!("cannot start {n} threads: {e}")))?,
            ),
            _ => None,
        };
        let pool = Pool::new(layout.arena_bytes);
        Ok(Executable {
            inner: Arc::new(Inner {
                plan,
                kernels,
                controls,
                layout,
                pool,
                threads: opts.threads,
                thread_pool,
                dumps,
                _code: code,
            }),
        })
    }
}

/// A planned function's native parts: what a top-level [`Executable`] and a control-flow body share.
pub(crate) struct Built {
    pub plan: plan::Plan,
    pub kernels: Vec<Option<KernelRun>>,
    pub controls: Vec<Option<control::ControlStep>>,
    pub layout: ArenaLayout,
    pub clif: lower::ClifDumps,
    /// The code the kernels point into: keep it alive as long as they are.
    pub code: lower::JitCode,
}

/// Plans `g` (already inlined and prepared), lowers its kernels into one JIT module, lays out its
/// arena and compiles the control flow it holds.
pub(crate) fn build(g: &Function, isa: &OwnedTargetIsa, opts: &CompileOptions) -> Result<Built, CodegenError> {
    let plan = plan::plan(g)?;
    let (code, compiled, clif) = lower::compile_plan(&plan, isa.clone(), opts.dumps)?;
    let kernels: Vec<Option<KernelRun>> = plan
        .steps
        .iter()
        .zip(compiled)
        .map(|(s, c)| match (s, c) {
            (Step::Kernel(k), Some(c)) => Some(KernelRun::new(k, c, |b| plan.buffers[b].ty.numel())),
            _ => None,
        })
        .collect();
    let scratch: Vec<usize> = kernels.iter().map(|k| k.as_ref().map_or(0, |k| k.scratch_bytes)).collect();
    let layout = memory::layout(&plan, &scratch);
    let controls = control::compile_controls(&plan, isa, opts)?;
    Ok(Built { plan, kernels, controls, layout, clif, code })
}

/// The dump file stem of the compilation with cache key `key`.
fn dump_stem(key: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    format!("gradjit-{:016x}", h.finish())
}

/// The process-wide compiler behind [`compile`].
pub fn global_compiler() -> Result<&'static Compiler, CodegenError> {
    static GLOBAL: OnceLock<Result<Compiler, String>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| Compiler::new().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| CodegenError::Unsupported(format!("no compiler for this host: {e}")))
}

/// Compiles `f` with the process-wide cached [`Compiler`].
pub fn compile(f: &Function, opts: &CompileOptions) -> Result<Executable, CodegenError> {
    global_compiler()?.compile(f, opts)
}

/// Collectives (`psum` and kin) only mean something inside a `vmap` binding their axis name,
/// which rewrites them away; one that reaches the backend names an unbound axis.
fn reject_collectives(f: &Function) -> Result<(), CodegenError> {
    for e in &f.eqns {
        if let Prim::Collective { axis_name, .. } = &e.prim {
            return Err(CodegenError::Unsupported(format!(
                "{} over unbound axis name '{axis_name}': collectives only have a meaning inside a vmap with that \
                 axis_name",
                e.prim.name()
            )));
        }
        for body in e.prim.bodies() {
            reject_collectives(body)?;
        }
    }
    Ok(())
}
