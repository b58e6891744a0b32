//! The gradient IR compiled by gradjit-codegen: `jit(grad(f))` without the user API around it
//! (argument flattening, signature check, cache lookup), until `gradjit::jit` exists.

use super::engine::{gradient_ir, BenchResult, Compiled, Engine};
use super::Workload;
use gradjit::{Array, HostArray};
use gradjit_codegen::{CompileOptions, Compiler, Executable};
use std::cell::RefCell;

/// Compiles the gradient IR with a [`Compiler`] of its own, so that [`Engine::forget`] can
/// start from an empty cache.
pub struct Codegen {
    compiler: RefCell<Compiler>,
}

impl Codegen {
    pub fn new() -> BenchResult<Codegen> {
        Ok(Codegen { compiler: RefCell::new(Compiler::new()?) })
    }
}

struct CompiledCode {
    exe: Executable,
    args: Vec<HostArray>,
    outputs: Vec<HostArray>,
}

/// Workloads take at most this many arguments (W2: four parameters and two inputs).
const MAX_ARGS: usize = 8;

impl Engine for Codegen {
    fn name(&self) -> String {
        "gradjit codegen".into()
    }

    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>> {
        let ir = gradient_ir(w)?;
        let exe = self.compiler.borrow().compile(&ir, &CompileOptions::default())?;
        let args: Vec<HostArray> = w.params.iter().chain(&w.rest).map(|a| a.as_host().clone()).collect();
        let args = args[..ir.params.len()].to_vec();
        if args.len() > MAX_ARGS {
            return Err(format!("{} takes {} arguments, more than {MAX_ARGS}", w.id, args.len()).into());
        }
        Ok(Box::new(CompiledCode { exe, args, outputs: Vec::new() }))
    }

    fn forget(&self) {
        if let Ok(fresh) = Compiler::new() {
            *self.compiler.borrow_mut() = fresh;
        }
    }
}

impl Compiled for CompiledCode {
    fn call(&mut self) -> BenchResult<()> {
        // The argument list on the stack: a dispatch measurement must not time an allocation.
        let mut refs = [&self.args[0]; MAX_ARGS];
        for (r, a) in refs.iter_mut().zip(&self.args) {
            *r = a;
        }
        self.outputs = self.exe.run(&refs[..self.args.len()])?;
        Ok(())
    }

    fn outputs(&self) -> BenchResult<Vec<Array>> {
        Ok(self.outputs.iter().cloned().map(Array::from_host).collect())
    }
}
