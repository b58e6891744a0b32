//! Golden-file tests in the manner of Cranelift's filetests: one `#[test]` runs every
//! `tests/filetests/**/*.gj` file.
//!
//! A file starts with `test <name> [args]` (blank and `#` lines may come first), then the input
//! function in the text format, then the expected output as lines starting with `; ` (or a lone
//! `;`) at column 0:
//!
//! ```text
//! test print
//! { lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }
//! ; { lambda ; a:f32[3]. let
//! ;     b:f32[3] = sin a
//! ;   in (b,) }
//! ```
//!
//! The runner parses the input, runs the subtest named in the header (see `subtests/mod.rs`)
//! and compares its output (or its error, or the parse error) with the expectation. Every file
//! runs; each mismatch is reported with a unified diff, and then the test fails.
//!
//! - `GRADJIT_BLESS=1` rewrites the expectations with the actual output instead of failing.
//! - `GRADJIT_FILETESTS=<substring>` runs only the files whose path contains it.

mod subtests;

use gradjit_ir::parse_function;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use subtests::Args;

#[test]
fn filetests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
    let bless = std::env::var("GRADJIT_BLESS").is_ok_and(|v| v == "1");
    let filter = std::env::var("GRADJIT_FILETESTS").unwrap_or_default();
    let mut files = Vec::new();
    collect_files(&root, &mut files);
    files.retain(|f| f.to_string_lossy().contains(&filter));
    assert!(!files.is_empty(), "no filetests under {} matching {filter:?}", root.display());

    let mut failures = Vec::new();
    for file in &files {
        let name = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(file).display().to_string();
        match run_file(file, bless) {
            Ok(()) => {}
            Err(report) => failures.push(format!("FAIL {name}\n{report}")),
        }
    }
    let summary = format!("filetests: {} passed, {} failed", files.len() - failures.len(), failures.len());
    if !failures.is_empty() {
        panic!("\n{}\n{summary}", failures.join("\n"));
    }
    println!("{summary}{}", if bless { " (blessed)" } else { "" });
}

/// Every `*.gj` file under `dir`, sorted.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            collect_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "gj") {
            out.push(p);
        }
    }
}

/// A filetest split into its parts.
struct TestFile {
    name: String,
    args: Args,
    /// The input with the header and expectation lines blanked, so parse errors keep the
    /// file's line numbers.
    input: String,
    expected: Vec<String>,
}

/// An expectation line's text, if `line` is one.
fn expectation(line: &str) -> Option<&str> {
    if line == ";" {
        Some("")
    } else {
        line.strip_prefix("; ")
    }
}

fn split_file(text: &str) -> Result<TestFile, String> {
    let mut header = None;
    let mut input = Vec::new();
    let mut expected = Vec::new();
    for line in text.lines() {
        if let Some(e) = expectation(line) {
            expected.push(e.to_string());
            input.push("");
        } else if header.is_none() && !line.trim().is_empty() && !line.starts_with('#') {
            header = Some(line);
            input.push("");
        } else {
            input.push(line);
        }
    }
    let header = header.ok_or("the file has no `test <name>` line")?;
    let mut words = header.split_whitespace();
    if words.next() != Some("test") {
        return Err(format!("the first line must be `test <name> [args]`, found `{header}`"));
    }
    let name = words.next().ok_or("`test` needs a subtest name")?.to_string();
    Ok(TestFile { name, args: Args::new(words), input: input.join("\n"), expected })
}

/// Runs one file; the error is the failure report.
fn run_file(path: &Path, bless: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let test = split_file(&text)?;
    let run = subtests::find(&test.name).ok_or_else(|| {
        let known: Vec<&str> = subtests::SUBTESTS.iter().map(|(n, _)| *n).collect();
        format!("unknown subtest `{}` (known: {})", test.name, known.join(", "))
    })?;
    let output = match parse_function(&test.input) {
        Err(e) => format!("parse error: {e}"),
        Ok(f) => match catch_unwind(AssertUnwindSafe(|| run(&f, &test.args))) {
            Ok(Ok(out)) | Ok(Err(out)) => out,
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                return Err(format!("subtest `{}` panicked: {}", test.name, msg.unwrap_or_default()));
            }
        },
    };
    let actual: Vec<&str> = output.trim_end().lines().map(str::trim_end).collect();
    let expected: Vec<&str> = test.expected.iter().map(|s| s.trim_end()).collect();
    let expected = &expected[..expected.iter().rposition(|l| !l.is_empty()).map_or(0, |i| i + 1)];
    if actual == expected {
        return Ok(());
    }
    if bless {
        return bless_file(path, &text, &actual);
    }
    Err(unified_diff(expected, &actual))
}

/// Rewrites the file with `actual` as its expectation, after the input.
fn bless_file(path: &Path, text: &str, actual: &[&str]) -> Result<(), String> {
    let mut kept: Vec<&str> = text.lines().filter(|l| expectation(l).is_none()).collect();
    while kept.last().is_some_and(|l| l.trim().is_empty()) {
        kept.pop();
    }
    let mut out = kept.join("\n");
    out.push('\n');
    for line in actual {
        out.push_str(if line.is_empty() { ";" } else { "; " });
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|e| format!("cannot bless: {e}"))
}

/// A unified diff of two line lists (longest common subsequence, 3 lines of context).
fn unified_diff(expected: &[&str], actual: &[&str]) -> String {
    const CONTEXT: usize = 3;
    let (n, m) = (expected.len(), actual.len());
    // lcs[i][j]: length of the LCS of expected[i..] and actual[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    // The edit script: (tag, expected line number, actual line number, text).
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            ops.push((' ', i, j, expected[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', i, j, expected[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, actual[j]));
            j += 1;
        }
    }
    let mut out = String::from("--- expected\n+++ actual\n");
    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut k = 0;
    while k < changed.len() {
        // Grow a hunk while the next change is within two contexts of the last.
        let start = changed[k].saturating_sub(CONTEXT);
        let mut last = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= last + 2 * CONTEXT {
            k += 1;
            last = changed[k];
        }
        let end = (last + CONTEXT + 1).min(ops.len());
        let hunk = &ops[start..end];
        let count = |tag: char| hunk.iter().filter(|o| o.0 == ' ' || o.0 == tag).count();
        out.push_str(&format!("@@ -{},{} +{},{} @@\n", hunk[0].1 + 1, count('-'), hunk[0].2 + 1, count('+')));
        for (tag, _, _, line) in hunk {
            out.push_str(&format!("{tag}{line}\n"));
        }
        k += 1;
    }
    out
}

#[test]
fn diff_shows_changed_lines_with_context() {
    let expected = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let actual = ["a", "b", "c", "d", "E", "f", "g", "h", "i", "j"];
    assert_eq!(
        unified_diff(&expected, &actual),
        "--- expected\n+++ actual\n@@ -2,8 +2,9 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n i\n+j\n"
    );
}

#[test]
fn files_split_into_header_input_and_expectation() {
    let t = split_file("# about\ntest grad argnums=0,1 fast\n{ lambda ; . let\n  in () }\n; out\n;\n").unwrap();
    assert_eq!(t.name, "grad");
    assert_eq!((t.args.get("argnums"), t.args.has("fast"), t.args.has("slow")), (Some("0,1"), true, false));
    assert_eq!(t.input, "# about\n\n{ lambda ; . let\n  in () }\n\n");
    assert_eq!(t.expected, ["out", ""]);
    assert!(t.args.allow_only(&["argnums"]).unwrap_err().contains("`fast`"));
}
