//! `docs/primitives.md` lists every primitive with its operands, derivative rules and lowering.
//! This test renders that table from the code and compares it with the document:
//!
//! - operands and parameters: `gradjit_ir::prim_docs::describe`,
//! - JVP and transpose rules: `gradjit_autodiff::rule_summary`,
//! - native lowering: `gradjit_codegen::lowering_summary`.
//!
//! All three are exhaustive `match`es over `PrimKind`, so a new primitive does not compile until
//! it is described, and this test fails until the document shows it. The table is the part of the
//! document between `<!-- table:begin -->` and `<!-- table:end -->`; the prose around it is
//! hand-written. `GRADJIT_BLESS=1` rewrites the table instead of failing.

use gradjit_autodiff::rule_summary;
use gradjit_codegen::lowering_summary;
use gradjit_ir::prim_docs::describe;
use gradjit_ir::PrimKind;

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/primitives.md");
const BEGIN: &str = "<!-- table:begin -->";
const END: &str = "<!-- table:end -->";

/// A table cell: pipes escaped, so that `|x|` does not split the row.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn render() -> String {
    let mut t = String::from(
        "| primitive | operands → result `[params]` | JVP | transpose | native lowering |\n|---|---|---|---|---|\n",
    );
    for k in PrimKind::all() {
        let rules = rule_summary(k);
        t.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            k.name(),
            cell(describe(k)),
            cell(rules.jvp),
            rules.transpose.map_or_else(|| "—".to_string(), cell),
            cell(lowering_summary(k)),
        ));
    }
    t
}

/// The document split around its table: (before and including BEGIN, table, END and after).
fn split(doc: &str) -> Option<(&str, &str, &str)> {
    let b = doc.find(BEGIN)? + BEGIN.len();
    let e = b + doc[b..].find(END)?;
    let table = doc[b..e].trim_start_matches('\n');
    Some((&doc[..b], table, &doc[e..]))
}

/// A line diff (longest common subsequence), `-` for the document, `+` for the code.
fn diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[test]
fn the_primitive_table_matches_the_code() {
    let doc = std::fs::read_to_string(DOC).expect("docs/primitives.md");
    let (before, table, after) =
        split(&doc).unwrap_or_else(|| panic!("docs/primitives.md needs the markers {BEGIN} and {END}"));
    let expected = render();
    if table == expected {
        return;
    }
    if std::env::var_os("GRADJIT_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(DOC, format!("{before}\n{expected}{after}")).expect("write docs/primitives.md");
        return;
    }
    panic!(
        "docs/primitives.md is out of date (- document, + code); rerun with GRADJIT_BLESS=1 to rewrite it:\n{}",
        diff(table, &expected)
    );
}

#[test]
fn the_table_has_one_row_per_primitive() {
    let table = render();
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), PrimKind::all().len());
    for (row, k) in rows.iter().zip(PrimKind::all()) {
        // Five cells: escaped pipes inside cells do not count as separators.
        assert_eq!(row.replace("\\|", "").matches('|').count(), 6, "{row}");
        assert!(row.starts_with(&format!("| `{}` |", k.name())), "{row}");
    }
}

#[test]
fn the_diff_shows_changed_lines_only() {
    assert_eq!(diff("a\nb\nc\n", "a\nx\nc\n"), "- b\n+ x\n");
    assert_eq!(diff("a\n", "a\nb\n"), "+ b\n");
}
