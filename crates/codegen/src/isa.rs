//! The host `TargetIsa` every gradjit kernel is compiled for.
//!
//! `cranelift_native::builder()` detects the CPU features (SSE4.1, AVX, AVX2, FMA, AVX-512, ...) with
//! `is_x86_feature_detected!`. We deliberately do not use the `x86-64-v3`/`-v4` presets: in Cranelift 0.135 they
//! leave `has_avx` off, which silently turns every `fma` into a per-lane libcall.
//!
//! Shared flags: `opt_level=speed` (the default is `none`), the IR verifier only in debug builds (it costs compile
//! time and our emitters are tested), and `is_pic=false`, which `cranelift-jit` requires.

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable, SetError};
use cranelift_codegen::CodegenError;

/// Why the host ISA could not be built.
#[derive(Debug, thiserror::Error)]
pub enum IsaError {
    #[error("this host is not supported by Cranelift: {0}")]
    UnsupportedHost(&'static str),
    #[error("invalid Cranelift setting `{name}`: {source}")]
    Setting { name: &'static str, source: SetError },
    #[error("Cranelift rejected the ISA flags: {0}")]
    Codegen(#[from] CodegenError),
}

/// Builds the `TargetIsa` of the machine we are running on, configured for JIT compilation of numeric kernels.
pub fn host_isa() -> Result<OwnedTargetIsa, IsaError> {
    let mut shared = settings::builder();
    let verifier = if cfg!(debug_assertions) { "true" } else { "false" };
    for (name, value) in [("opt_level", "speed"), ("enable_verifier", verifier), ("is_pic", "false")] {
        shared.set(name, value).map_err(|source| IsaError::Setting { name, source })?;
    }
    let isa_builder = cranelift_native::builder().map_err(IsaError::UnsupportedHost)?;
    Ok(isa_builder.finish(settings::Flags::new(shared))?)
}

/// The value of a boolean ISA flag such as `has_fma`, or `None` if this ISA has no flag of that name.
pub fn isa_flag(isa: &OwnedTargetIsa, name: &str) -> Option<bool> {
    isa.isa_flags().iter().find(|flag| flag.name == name).and_then(|flag| flag.as_bool())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_isa_has_speed_flags() {
        let isa = host_isa().unwrap();
        assert_eq!(isa.flags().opt_level(), settings::OptLevel::Speed);
        assert!(!isa.flags().is_pic());
        assert_eq!(isa.flags().enable_verifier(), cfg!(debug_assertions));
    }

    /// The FMA-based polynomials in `math` rely on `has_fma` (and `has_avx`, without which Cranelift does not use
    /// FMA at all): check that the native builder turns them on whenever the CPU has them.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn host_isa_enables_the_cpu_features() {
        let isa = host_isa().unwrap();
        let expected = [
            ("has_sse41", std::arch::is_x86_feature_detected!("sse4.1")),
            ("has_avx", std::arch::is_x86_feature_detected!("avx")),
            ("has_avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("has_fma", std::arch::is_x86_feature_detected!("fma")),
        ];
        for (flag, cpu_has_it) in expected {
            assert_eq!(isa_flag(&isa, flag), Some(cpu_has_it), "{flag}");
        }
    }
}
