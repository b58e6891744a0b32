//! The text of every compilation stage, and `GRADJIT_DUMP=<dir>`.

use crate::error::CodegenError;
use std::path::Path;

/// The stages of one compilation as text.
#[derive(Clone, Debug, Default)]
pub struct Dumps {
    /// The function as given.
    pub ir: String,
    /// After `passes::simplify` and inlining.
    pub simplified: String,
    /// The fusion plan: buffers, kernels (with their loop programs) and host steps.
    pub fusion: String,
    /// Cranelift IR of every loop nest, before optimisation.
    pub clif: String,
    /// Cranelift IR after optimisation.
    pub clif_opt: String,
    /// Machine code (Cranelift VCode after register allocation).
    pub asm: String,
}

impl Dumps {
    /// `(stage name, text)` in pipeline order; the names are the file extensions of [`Dumps::write_to`].
    pub fn stages(&self) -> [(&'static str, &str); 6] {
        [
            ("ir", &self.ir),
            ("simplified", &self.simplified),
            ("fusion", &self.fusion),
            ("clif", &self.clif),
            ("clif-opt", &self.clif_opt),
            ("asm", &self.asm),
        ]
    }

    /// Writes `<dir>/<stem>.<stage>.txt` for every stage.
    pub fn write_to(&self, dir: &Path, stem: &str) -> Result<(), CodegenError> {
        let err = |error| CodegenError::Dump { dir: dir.display().to_string(), error };
        std::fs::create_dir_all(dir).map_err(err)?;
        for (stage, text) in self.stages() {
            std::fs::write(dir.join(format!("{stem}.{stage}.txt")), text).map_err(err)?;
        }
        Ok(())
    }
}

/// The directory named by `GRADJIT_DUMP`, if set.
pub fn dump_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("GRADJIT_DUMP").filter(|v| !v.is_empty()).map(Into::into)
}
