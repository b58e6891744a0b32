//! No input makes `gradjit` panic: mutated copies of the examples (a character deleted or
//! replaced, the file cut short) go through the whole pipeline (parse, autodiff, the
//! interpreter, codegen) and every run ends with one of the documented exit codes, never the
//! internal-error exit 70.

use assert_cmd::Command;
use std::path::Path;

/// Characters that make mutations likely to stay near-valid: digits change shapes, axes and
/// constants; brackets and punctuation change structure.
const REPLACEMENTS: &[u8] = b"0 19[](),:=a-.";

#[test]
fn mutated_examples_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ir");
    let tmp = tempfile::tempdir().unwrap();
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        // xorshift64: a fixed sequence, so a failure reproduces.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut runs = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for file in names {
        let text = std::fs::read(&file).unwrap();
        // Mutate only the function, not the comment block above it.
        let start = text.iter().position(|&c| c == b'{').unwrap();
        for k in 0..24 {
            let at = start + next(text.len() - start);
            let mut m = text.clone();
            match k % 3 {
                0 => _ = m.remove(at),
                1 => m[at] = REPLACEMENTS[next(REPLACEMENTS.len())],
                _ => m.truncate(at),
            }
            let path = tmp.path().join(format!("m{runs}.gj"));
            std::fs::write(&path, &m).unwrap();
            assert_documented_exit(&path, &[], &String::from_utf8_lossy(&m));
            runs += 1;
        }
    }
    assert!(runs >= 5 * 24, "{runs} runs");
}

/// Special values everywhere: every input, and every splat constant.
#[test]
fn special_values_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ir");
    let tmp = tempfile::tempdir().unwrap();
    let specials = ["nan", "inf", "-inf", "0", "1e30", "-3e38"];
    let mut names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for file in names {
        let text = std::fs::read_to_string(&file).unwrap();
        let f = gradjit_ir::parse_function(&text).unwrap();
        for special in specials {
            // Integer parameters (labels) cannot hold these; they keep their random values.
            let inputs: Vec<String> = (0..f.params.len())
                .filter(|&i| f.ty(f.params[i]).dtype.is_float())
                .map(|i| format!("{i}={special}"))
                .collect();
            assert_documented_exit(&file, &inputs, &format!("{} with {inputs:?}", file.display()));
            let constants = text.replace("value=0.", &format!("value={special}  # ")).replace("value=1", "value=-");
            let path = tmp.path().join("constants.gj");
            std::fs::write(&path, &constants).unwrap();
            assert_documented_exit(&path, &[], &constants);
        }
    }
}

/// Runs `gradjit check` (autodiff, the interpreter and codegen) and asserts a documented exit.
fn assert_documented_exit(path: &Path, inputs: &[String], what: &str) {
    let mut cmd = Command::cargo_bin("gradjit").unwrap();
    cmd.args(["check", "--max-elements", "2"]).arg(path);
    for i in inputs {
        cmd.args(["--input", i]);
    }
    let out = cmd.output().unwrap();
    let code = out.status.code();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(code, Some(0..=3)) && !stderr.contains("internal error"), "exit {code:?} on\n{what}\n{stderr}");
}
