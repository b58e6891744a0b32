//! The IR stages of a jitted function before code generation, and where they are written.
//!
//! `gradjit-codegen` keeps (and with `GRADJIT_DUMP=<dir>` writes) the stages it sees: the
//! function it is given (`ir`), then `simplified`, `fusion`, `clif`, `clif-opt` and `asm`. What
//! came before is only known here: when a jitted function differentiates (`jit(grad(f))`, or a
//! `grad` called inside it), `grad` [`record`]s the function it differentiated (`traced`) and the
//! gradient autodiff made of it (`grad`), and `jit` writes them beside codegen's files, under the
//! same stem. Several differentiations in one function (grad of grad) number the later ones in
//! the order they were traced, innermost first: `traced`, `grad`, `traced-2`, `grad-2`.
//! docs/dumps.md describes the whole layout.
//!
//! Recording is off unless a jit asked for stages (its `dumps` option, or `GRADJIT_DUMP`);
//! a transformation checks one thread-local flag.

use gradjit_codegen::Executable;
use std::cell::RefCell;
use std::path::Path;

thread_local! {
    /// The stages recorded by the innermost active recording, if any.
    static RECORDING: RefCell<Option<Vec<(String, String)>>> = const { RefCell::new(None) };
}

/// True while a jit records stages on this thread (transformations then trace afresh rather than
/// reuse a cached trace, so that their stages are seen).
pub(crate) fn is_recording() -> bool {
    RECORDING.with(|r| r.borrow().is_some())
}

/// Records stage `name` (`traced`, `grad`) of the current recording; `text` is only made if
/// one is active.
pub(crate) fn record(name: &str, text: impl FnOnce() -> String) {
    RECORDING.with(|r| {
        if let Some(stages) = r.borrow_mut().as_mut() {
            let n = stages.iter().filter(|(s, _)| s == name || s.strip_prefix(name).is_some_and(is_number)).count();
            let name = if n == 0 { name.to_string() } else { format!("{name}-{}", n + 1) };
            stages.push((name, text()));
        }
    });
}

/// `-2`, `-3`, ...: the suffix of a repeated stage.
fn is_number(suffix: &str) -> bool {
    suffix.strip_prefix('-').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Runs `f`, recording the stages transformations report while it runs (if `on`). Recordings
/// nest: an inner one (a jitted function traced by another) keeps its own stages.
pub(super) fn recording<R>(on: bool, f: impl FnOnce() -> R) -> (R, Vec<(String, String)>) {
    if !on {
        return (f(), Vec::new());
    }
    /// Restores the enclosing recording, also when `f` panics.
    struct Restore(Option<Vec<(String, String)>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            RECORDING.with(|r| *r.borrow_mut() = self.0.take());
        }
    }
    let outer = Restore(RECORDING.with(|r| r.borrow_mut().replace(Vec::new())));
    let out = f();
    let stages = RECORDING.with(|r| r.borrow_mut().take()).unwrap_or_default();
    drop(outer);
    (out, stages)
}

/// Writes `<dir>/<stem>.<name>.txt` for each of `stages`.
pub(super) fn write(dir: &Path, stem: &str, stages: &[(String, String)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    stages.iter().try_for_each(|(name, text)| std::fs::write(dir.join(format!("{stem}.{name}.txt")), text))
}

/// A jitted function compiled for one signature, with the text of its stages (see
/// [`Jit::compile`](super::Jit::compile)).
#[derive(Clone)]
pub struct Compiled {
    pub(super) exe: Executable,
    /// The stages before code generation (`traced`, `grad`, ...).
    pub(super) front: Vec<(String, String)>,
}

impl Compiled {
    /// The native code.
    pub fn executable(&self) -> &Executable {
        &self.exe
    }

    /// Every stage as `(name, text)`, in pipeline order: `traced` and `grad` (when the function
    /// differentiates), then codegen's `ir`, `simplified`, `fusion`, `clif`, `clif-opt` and `asm`.
    /// Codegen's stages are empty unless the jit has the `dumps` option (or `GRADJIT_DUMP` is set).
    pub fn stages(&self) -> Vec<(&str, &str)> {
        let front = self.front.iter().map(|(n, t)| (n.as_str(), t.as_str()));
        front.chain(self.exe.dumps().stages()).collect()
    }

    /// The text of stage `name`, if there is such a stage.
    pub fn stage(&self, name: &str) -> Option<&str> {
        self.stages().into_iter().find(|(n, _)| *n == name).map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_stages_are_numbered_and_recordings_nest() {
        let ((), outer) = recording(true, || {
            record("traced", || "f".into());
            let ((), inner) = recording(true, || record("grad", || "inner".into()));
            assert_eq!(inner, [("grad".to_string(), "inner".to_string())]);
            record("grad", || "g".into());
            record("traced", || "f2".into());
            record("grad", || "g2".into());
            record("grad", || "g3".into());
        });
        let names: Vec<&str> = outer.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["traced", "grad", "traced-2", "grad-2", "grad-3"]);
        assert!(!is_recording());
        let ((), none) = recording(false, || record("grad", || unreachable!("not recording")));
        assert!(none.is_empty());
    }
}
