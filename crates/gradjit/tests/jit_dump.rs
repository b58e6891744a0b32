//! `GRADJIT_DUMP=<dir>` with `jit`: the traced and gradient IR are written beside codegen's
//! stages, under one stem per compilation (docs/dumps.md). One test in its own binary, because
//! the variable is process-wide.

use gradjit::{grad, jit, Array, Error, Tensor};
use std::collections::BTreeMap;
use std::path::Path;

/// The files of `dir` as stem → stages, in pipeline order of codegen's and gradjit's names.
fn compilations(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let (stem, stage) = name.strip_suffix(".txt").unwrap().split_once('.').unwrap();
        out.entry(stem.to_string()).or_default().push(stage.to_string());
    }
    out.values_mut().for_each(|stages| stages.sort());
    out
}

#[test]
fn gradjit_dump_writes_every_stage_of_every_compilation() {
    let dir = std::env::temp_dir().join(format!("gradjit-jit-dump-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("GRADJIT_DUMP", &dir);

    let f = |z: Tensor, v: Tensor| (z * v).tanh().mean();
    let (z, v) = (Array::full(0.5, [10]), Array::ones([10]));
    let g = jit(grad(f).argnums([0, 1]));
    g.call((&z, &v)).unwrap();
    g.call((&z, &v)).unwrap();
    let found = compilations(&dir);
    assert_eq!(found.len(), 1, "one compilation: {found:?}");
    let (stem, stages) = found.iter().next().unwrap();
    assert!(stem.starts_with("gradjit-"));
    assert_eq!(stages, &["asm", "clif", "clif-opt", "fusion", "grad", "ir", "simplified", "traced"]);
    // The traced function and its gradient are IR text that parses back.
    for stage in ["traced", "grad", "ir"] {
        let text = std::fs::read_to_string(dir.join(format!("{stem}.{stage}.txt"))).unwrap();
        let parsed = gradjit_ir::parse_function(&text).unwrap();
        assert_eq!(parsed.to_string(), text, "{stage}");
    }
    let traced = std::fs::read_to_string(dir.join(format!("{stem}.traced.txt"))).unwrap();
    assert!(traced.contains("tanh") && traced.starts_with("{ lambda ; a:f32[10] b:f32[10]."), "{traced}");

    // A plain function: codegen's stages only.
    jit(|x: Tensor| x.sin() * 2.0).call(Array::ones([3])).unwrap();
    let found = compilations(&dir);
    assert_eq!(found.len(), 2);
    assert!(found.values().any(|s| s == &["asm", "clif", "clif-opt", "fusion", "ir", "simplified"]));

    // Dumps that cannot be written make the compilation fail with an error, not a panic.
    let file = dir.join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    std::env::set_var("GRADJIT_DUMP", &file);
    let e = jit(|x: Tensor| x.cos() * 3.0).call(Array::ones([3])).unwrap_err();
    assert!(matches!(&e, Error::Op { op, .. } if op == "jit"), "{e:?}");
    assert!(e.to_string().contains("cannot write dump files"), "{e}");
    assert!(e.loc().unwrap().file.ends_with("jit_dump.rs"));

    std::env::remove_var("GRADJIT_DUMP");
    std::fs::remove_dir_all(&dir).unwrap();
}
