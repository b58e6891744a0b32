//! Lowering of a plan's kernels to native code through Cranelift.
//!
//! Each compiled function gets its own `JITModule` ([`JitCode`]), holding every nest of every kernel, so
//! that dropping the function (for instance when the cache evicts it) frees its machine code.

pub(crate) mod calls;
mod complex;
mod elementwise;
mod loops;

use crate::error::CodegenError;
use crate::kir::LoopNest;
use crate::plan::{Plan, Step};
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, Signature};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::{print_errors::pretty_error, Context};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module, ModuleError};
use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;

pub(crate) use elementwise::scalar_ty;

/// A compiled loop nest: `fn(args, start, end)` over the nest's outermost dimension.
pub type NestFn = unsafe extern "C" fn(*const *mut u8, i64, i64);

/// The native functions of one kernel.
#[derive(Clone)]
pub struct CompiledKernel {
    pub prologue: Vec<NestFn>,
    pub body: NestFn,
    pub epilogue: Option<NestFn>,
}

/// The machine code of one compiled function; freed on drop.
pub struct JitCode {
    // `JITModule` is `Send` but not `Sync`; it is only touched again to free it.
    module: Mutex<Option<JITModule>>,
}

impl Drop for JitCode {
    fn drop(&mut self) {
        let module = self.module.get_mut().map(Option::take).unwrap_or_else(|e| e.into_inner().take());
        if let Some(m) = module {
            // SAFETY: the function pointers into this module live in the `Executable` that owns this
            // `JitCode`, and are dropped with it; nothing can call them afterwards.
            unsafe { m.free_memory() }
        }
    }
}

/// The text of every nest: CLIF before and after optimisation, and the machine code listing.
#[derive(Clone, Debug, Default)]
pub struct ClifDumps {
    pub clif: String,
    pub clif_opt: String,
    pub asm: String,
}

/// Function ids of one kernel: prologue nests, body, epilogue.
type KernelIds = (Vec<FuncId>, FuncId, Option<FuncId>);

fn nest_signature(module: &JITModule) -> Signature {
    let mut sig = module.make_signature();
    for _ in 0..3 {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig
}

/// Compiles every kernel of `plan`: one entry per step (`None` for host steps).
pub fn compile_plan(
    plan: &Plan,
    isa: OwnedTargetIsa,
    want_dumps: bool,
) -> Result<(JitCode, Vec<Option<CompiledKernel>>, ClifDumps), CodegenError> {
    let module_err =
        |kernel: &str, e: ModuleError| CodegenError::Module { kernel: kernel.into(), message: e.to_string() };
    let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
    let runtime = calls::all();
    for f in &runtime {
        jb.symbol(f.name, f.addr as *const u8);
    }
    let mut module = JITModule::new(jb);
    let mut imports: Vec<(&'static str, FuncId)> = Vec::new();
    for f in &runtime {
        let mut sig = module.make_signature();
        sig.params.extend(f.params.iter().map(|&d| AbiParam::new(scalar_ty(d))));
        sig.returns.push(AbiParam::new(scalar_ty(f.ret)));
        let id = module.declare_function(f.name, Linkage::Import, &sig).map_err(|e| module_err(f.name, e))?;
        imports.push((f.name, id));
    }

    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut dumps = ClifDumps::default();
    let mut ids: Vec<Option<KernelIds>> = Vec::with_capacity(plan.steps.len());
    for step in &plan.steps {
        let Step::Kernel(k) = step else {
            ids.push(None);
            continue;
        };
        let mut define = |nest: &LoopNest, part: &str| -> Result<FuncId, CodegenError> {
            let name = format!("{}_{part}", k.name);
            define_nest(&mut module, &mut ctx, &mut fctx, &imports, nest, &name, want_dumps.then_some(&mut dumps))
        };
        let mut prologue = Vec::with_capacity(k.prologue.len());
        for (i, n) in k.prologue.iter().enumerate() {
            prologue.push(define(n, &format!("prologue{i}"))?);
        }
        let body = define(&k.body, "body")?;
        let epilogue = k.epilogue.as_ref().map(|n| define(n, "epilogue")).transpose()?;
        ids.push(Some((prologue, body, epilogue)));
    }
    module.finalize_definitions().map_err(|e| module_err("finalize", e))?;
    let get = |id: FuncId| -> NestFn {
        // SAFETY: every nest function was defined with `nest_signature`, which is this type.
        unsafe { std::mem::transmute::<*const u8, NestFn>(module.get_finalized_function(id)) }
    };
    let kernels = ids
        .into_iter()
        .map(|k| {
            k.map(|(p, b, e)| CompiledKernel {
                prologue: p.into_iter().map(get).collect(),
                body: get(b),
                epilogue: e.map(get),
            })
        })
        .collect();
    Ok((JitCode { module: Mutex::new(Some(module)) }, kernels, dumps))
}

fn define_nest(
    module: &mut JITModule,
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    imports: &[(&'static str, FuncId)],
    nest: &LoopNest,
    name: &str,
    dumps: Option<&mut ClifDumps>,
) -> Result<FuncId, CodegenError> {
    module.clear_context(ctx);
    ctx.func.signature = nest_signature(module);
    ctx.set_disasm(dumps.is_some());
    let refs: HashMap<&'static str, _> =
        imports.iter().map(|&(n, id)| (n, module.declare_func_in_func(id, &mut ctx.func))).collect();
    let frontend = module.target_config();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let p = b.block_params(entry).to_vec();
        // Complex values become pairs of real ones first: the loop emitter only knows real types.
        let nest = complex::legalize(nest)?;
        loops::emit_nest(&mut b, &nest, &refs, [p[0], p[1], p[2]])?;
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(frontend);
    }
    let before = dumps.is_some().then(|| ctx.func.display().to_string());
    let id = module
        .declare_anonymous_function(&ctx.func.signature)
        .map_err(|e| CodegenError::Module { kernel: name.into(), message: e.to_string() })?;
    module.define_function(id, ctx).map_err(|e| match e {
        ModuleError::Compilation(err) => {
            CodegenError::Cranelift { kernel: name.into(), message: pretty_error(&ctx.func, err) }
        }
        other => CodegenError::Module { kernel: name.into(), message: other.to_string() },
    })?;
    if let Some(d) = dumps {
        let _ = writeln!(d.clif, "; {name}\n{}", before.unwrap_or_default());
        let _ = writeln!(d.clif_opt, "; {name}\n{}", ctx.func.display());
        let asm = ctx.compiled_code().and_then(|c| c.vcode.clone()).unwrap_or_default();
        let _ = writeln!(d.asm, "; {name}\n{asm}");
    }
    Ok(id)
}
