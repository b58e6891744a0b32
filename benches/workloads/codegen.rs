//! The gradient IR compiled by gradjit-codegen: `jit(grad(f))` without the user API around it
//! (argument flattening, signature check, cache lookup), until `gradjit::jit` exists.

use super::engine::{gradient_ir, BenchResult, Compiled, Engine};
use super::Workload;
use gradjit::{Array, HostArray};
use gradjit_codegen::{CompileOptions, Compiler, Executable};
use std::cell::RefCell;
use std::time::Instant;

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
    args: Vec<Array>,
    outputs: Vec<HostArray>,
    phases: Vec<(&'static str, f64)>,
}

/// Workloads take at most this many arguments (W2: four parameters and two inputs).
const MAX_ARGS: usize = 8;

impl Engine for Codegen {
    fn name(&self) -> String {
        "gradjit codegen".into()
    }

    fn compile(&self, w: &Workload) -> BenchResult<Box<dyn Compiled>> {
        let t0 = Instant::now();
        let ir = gradient_ir(w)?;
        let t1 = Instant::now();
        let exe = self.compiler.borrow().compile(&ir, &CompileOptions::default())?;
        let phases = vec![("trace_grad", (t1 - t0).as_secs_f64()), ("codegen", t1.elapsed().as_secs_f64())];
        // Arrays share their data: binding the inputs copies nothing.
        let args: Vec<Array> = w.params.iter().chain(&w.rest).take(ir.params.len()).cloned().collect();
        if args.len() > MAX_ARGS {
            return Err(format!("{} takes {} arguments, more than {MAX_ARGS}", w.id, args.len()).into());
        }
        Ok(Box::new(CompiledCode { exe, args, outputs: Vec::new(), phases }))
    }

    fn forget(&self) -> bool {
        match Compiler::new() {
            Ok(fresh) => {
                *self.compiler.borrow_mut() = fresh;
                true
            }
            Err(_) => false,
        }
    }
}

impl Compiled for CompiledCode {
    fn call(&mut self) -> BenchResult<()> {
        // The argument list on the stack: a dispatch measurement must not time an allocation.
        let mut refs = [self.args[0].as_host(); MAX_ARGS];
        for (r, a) in refs.iter_mut().zip(&self.args) {
            *r = a.as_host();
        }
        self.outputs = self.exe.run(&refs[..self.args.len()])?;
        Ok(())
    }

    fn outputs(&self) -> BenchResult<Vec<Array>> {
        Ok(self.outputs.iter().cloned().map(Array::from_host).collect())
    }

    fn phases(&self) -> Vec<(&'static str, f64)> {
        self.phases.clone()
    }
}
