//! Reading the directories that `GRADJIT_DUMP=<dir>` makes the library write.
//!
//! Every compilation writes one file per stage, `<dir>/<stem>.<stage>.txt`, with `<stem>` a hash
//! of the compiled function (`gradjit-0123456789abcdef`) and `<stage>` one of `ir`, `simplified`,
//! `fusion`, `clif`, `clif-opt` and `asm` (`gradjit_codegen::Dumps::stages`). A [`Compilation`]
//! gathers the files of one stem; [`find`] lists them in the order they were written.

use crate::error::CliError;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// File stage names, in pipeline order, with the `gradjit dump --stage` name of each.
pub const STAGES: [(&str, &str); 6] = [
    ("ir", "traced"),
    ("simplified", "simplified"),
    ("fusion", "fused"),
    ("clif", "clif"),
    ("clif-opt", "clif-opt"),
    ("asm", "asm"),
];

/// The dump files of one compilation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compilation {
    pub dir: PathBuf,
    pub stem: String,
    /// The file stage names present (`ir`, `fusion`, ...), in pipeline order.
    pub stages: Vec<&'static str>,
}

impl Compilation {
    /// The path of one stage's file.
    pub fn path(&self, stage: &str) -> PathBuf {
        self.dir.join(format!("{}.{stage}.txt", self.stem))
    }

    /// The text of one stage.
    pub fn read(&self, stage: &str) -> Result<String, CliError> {
        let path = self.path(stage);
        std::fs::read_to_string(&path).map_err(|e| CliError::io(&path, e))
    }
}

/// The stem and file stage of a dump file name (`gradjit-01ab.clif-opt.txt` → `gradjit-01ab`, `clif-opt`).
fn split_name(name: &str) -> Option<(&str, &'static str)> {
    let base = name.strip_suffix(".txt")?;
    STAGES
        .iter()
        .find_map(|&(s, _)| Some((base.strip_suffix(s)?.strip_suffix('.').filter(|stem| !stem.is_empty())?, s)))
}

/// Whether `path` names dumps rather than an IR file: a directory, a `<stem>.<stage>.txt` file
/// other than the parseable `ir` stage, or a stem whose files exist.
pub fn is_dump_path(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match split_name(&name) {
        Some((_, stage)) => stage != "ir",
        None => !path.exists() && path.parent().is_some_and(|d| d.join(format!("{name}.ir.txt")).exists()),
    }
}

/// The compilations `path` names: every one in a directory (oldest first), or the one whose
/// stem or stage file `path` is.
pub fn find(path: &Path) -> Result<Vec<Compilation>, CliError> {
    let (dir, only_stem) = if path.is_dir() {
        (path.to_path_buf(), None)
    } else {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = split_name(&name).map_or(name.clone(), |(stem, _)| stem.to_string());
        (path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf), Some(stem))
    };
    let entries = std::fs::read_dir(&dir).map_err(|e| CliError::io(&dir, e))?;
    let mut found: Vec<(SystemTime, Compilation)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CliError::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, stage)) = split_name(&name) else { continue };
        if only_stem.as_deref().is_some_and(|s| s != stem) {
            continue;
        }
        let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
        match found.iter_mut().find(|(_, c)| c.stem == stem) {
            Some((time, c)) => {
                c.stages.push(stage);
                *time = (*time).min(modified);
            }
            None => {
                found.push((modified, Compilation { dir: dir.clone(), stem: stem.to_string(), stages: vec![stage] }))
            }
        }
    }
    if found.is_empty() {
        return Err(CliError::usage(format!(
            "{}: no gradjit dumps here (files <stem>.<stage>.txt written with GRADJIT_DUMP=<dir>)",
            path.display()
        )));
    }
    let order = |s: &str| STAGES.iter().position(|(f, _)| *f == s);
    for (_, c) in &mut found {
        c.stages.sort_by_key(|s| order(s));
    }
    found.sort_by(|(ta, a), (tb, b)| ta.cmp(tb).then_with(|| a.stem.cmp(&b.stem)));
    Ok(found.into_iter().map(|(_, c)| c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_into_stem_and_stage() {
        assert_eq!(split_name("gradjit-01ab.clif-opt.txt"), Some(("gradjit-01ab", "clif-opt")));
        assert_eq!(split_name("gradjit-01ab.clif.txt"), Some(("gradjit-01ab", "clif")));
        assert_eq!(split_name("a.b.ir.txt"), Some(("a.b", "ir")));
        assert_eq!(split_name(".ir.txt"), None);
        assert_eq!(split_name("notes.txt"), None);
        assert_eq!(split_name("x.fusion"), None);
    }

    #[test]
    fn compilations_are_gathered_by_stem_in_stage_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["k1.asm.txt", "k1.ir.txt", "k1.fusion.txt", "k2.ir.txt", "README.md"] {
            std::fs::write(dir.path().join(name), name).unwrap();
        }
        let all = find(dir.path()).unwrap();
        let stems: Vec<&str> = all.iter().map(|c| c.stem.as_str()).collect();
        assert_eq!(stems.len(), 2);
        let k1 = all.iter().find(|c| c.stem == "k1").unwrap();
        assert_eq!(k1.stages, ["ir", "fusion", "asm"]);
        assert_eq!(k1.read("asm").unwrap(), "k1.asm.txt");

        let one = find(&dir.path().join("k1.fusion.txt")).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].stem, "k1");
        assert_eq!(find(&dir.path().join("k2")).unwrap()[0].stages, ["ir"]);

        assert!(is_dump_path(dir.path()));
        assert!(is_dump_path(&dir.path().join("k1.fusion.txt")));
        assert!(is_dump_path(&dir.path().join("k1")));
        assert!(!is_dump_path(&dir.path().join("k1.ir.txt")), "the ir stage is an IR file");
        assert!(!is_dump_path(&dir.path().join("f.gj")));

        let empty = tempfile::tempdir().unwrap();
        assert!(find(empty.path()).unwrap_err().to_string().contains("no gradjit dumps here"));
    }
}
