//! Showing named arrays: as numpy prints them, as JSON, or as `.npy` files.
//!
//! Text is numpy's `repr` (`loss = array(0.21703, dtype=float32)`), continuation lines indented
//! under the first. JSON is one object per array, `{"name", "dtype", "shape", "data"}`, with
//! `data` nested by the shape; numbers are written with the shortest digits that round-trip in
//! the array's own dtype, non-finite floats as the strings `"nan"`, `"inf"`, `"-inf"`, and complex
//! numbers as `[re, im]`.

use crate::error::CliError;
use crate::npy;
use gradjit_ir::{HostArray, Scalar};
use std::fmt::Write;
use std::path::Path;

/// An array with the name it is shown under.
pub struct Named<'a> {
    pub name: String,
    pub array: &'a HostArray,
}

impl<'a> Named<'a> {
    pub fn new(name: impl Into<String>, array: &'a HostArray) -> Named<'a> {
        Named { name: name.into(), array }
    }
}

/// `name = array(...)`, with the lines after the first indented to stay aligned.
pub fn text(n: &Named) -> String {
    let prefix = format!("{} = ", n.name);
    let pad = " ".repeat(prefix.chars().count());
    let repr = n.array.repr("array");
    let mut out = prefix;
    for (i, line) in repr.lines().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

/// The JSON object of one named array.
pub fn json(n: &Named) -> String {
    let a = n.array;
    let shape: Vec<String> = a.dims().iter().map(|d| d.to_string()).collect();
    let mut data = String::new();
    json_data(a, 0, &mut 0, &mut data);
    format!(
        "{{\"name\": {}, \"dtype\": \"{}\", \"shape\": [{}], \"data\": {data}}}",
        json_string(&n.name),
        a.dtype(),
        shape.join(", ")
    )
}

/// A JSON list of named arrays, one per line.
pub fn json_list(items: &[Named]) -> String {
    let objects: Vec<String> = items.iter().map(|n| format!("    {}", json(n))).collect();
    match objects.is_empty() {
        true => "[]".to_string(),
        false => format!("[\n{}\n  ]", objects.join(",\n")),
    }
}

/// Writes the elements of `a` from flat index `*at` nested by dimensions `dim..`.
fn json_data(a: &HostArray, dim: usize, at: &mut usize, out: &mut String) {
    if dim == a.rank() {
        json_scalar(a.get(*at), out);
        *at += 1;
        return;
    }
    out.push('[');
    for i in 0..a.dims()[dim] {
        if i > 0 {
            out.push_str(", ");
        }
        json_data(a, dim + 1, at, out);
    }
    out.push(']');
}

fn json_scalar(s: Scalar, out: &mut String) {
    fn float(v: f64, digits: String, out: &mut String) {
        match v {
            v if v.is_nan() => out.push_str("\"nan\""),
            f64::INFINITY => out.push_str("\"inf\""),
            f64::NEG_INFINITY => out.push_str("\"-inf\""),
            _ => out.push_str(&digits),
        }
    }
    match s {
        Scalar::F32(v) => float(v as f64, format!("{v:?}"), out),
        Scalar::F64(v) => float(v, format!("{v:?}"), out),
        Scalar::C64(c) => {
            out.push('[');
            float(c.re as f64, format!("{:?}", c.re), out);
            out.push_str(", ");
            float(c.im as f64, format!("{:?}", c.im), out);
            out.push(']');
        }
        Scalar::C128(c) => {
            out.push('[');
            float(c.re, format!("{:?}", c.re), out);
            out.push_str(", ");
            float(c.im, format!("{:?}", c.im), out);
            out.push(']');
        }
        s => _ = write!(out, "{s}"),
    }
}

/// `s` as a JSON string literal.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => _ = write!(out, "\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Rows of cells as left-aligned columns separated by `gap`, indented by two spaces.
pub fn table(rows: &[Vec<String>], gap: &str) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(s, &w)| format!("{s:<w$}")).collect();
        out.push_str("  ");
        out.push_str(cells.join(gap).trim_end());
        out.push('\n');
    }
    out
}

/// Writes each array to `dir/<name>.npy`, creating `dir` if needed; returns the paths written.
pub fn save_npy(dir: &Path, items: &[Named]) -> Result<Vec<String>, CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
    let mut written = Vec::new();
    for n in items {
        let path = dir.join(format!("{}.npy", n.name));
        let bytes = npy::to_bytes(n.array).map_err(|e| CliError::usage(format!("cannot save `{}`: {e}", n.name)))?;
        std::fs::write(&path, bytes).map_err(|e| CliError::io(&path, e))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex32;

    #[test]
    fn text_is_numpy_repr_aligned_under_the_name() {
        let a = HostArray::from_vec([2, 2], vec![1.0f32, 2.5, -3.0, 4.0]).unwrap();
        assert_eq!(text(&Named::new("w", &a)), "w = array([[ 1. ,  2.5],\n           [-3. ,  4. ]], dtype=float32)");
        let s = HostArray::from_vec([], vec![0.25f64]).unwrap();
        assert_eq!(text(&Named::new("loss", &s)), "loss = array(0.25, dtype=float64)");
    }

    #[test]
    fn json_nests_data_by_shape_and_spells_non_finite_values() {
        let a = HostArray::from_vec([2, 2], vec![0.1f32, f32::NAN, f32::NEG_INFINITY, 1e-8]).unwrap();
        assert_eq!(
            json(&Named::new("x\"", &a)),
            r#"{"name": "x\"", "dtype": "f32", "shape": [2, 2], "data": [[0.1, "nan"], ["-inf", 1e-8]]}"#
        );
        let c = HostArray::from_vec([1], vec![Complex32::new(1.0, -2.0)]).unwrap();
        assert_eq!(json(&Named::new("c", &c)), r#"{"name": "c", "dtype": "c64", "shape": [1], "data": [[1.0, -2.0]]}"#);
        let b = HostArray::from_vec([], vec![true]).unwrap();
        assert_eq!(json(&Named::new("b", &b)), r#"{"name": "b", "dtype": "bool", "shape": [], "data": true}"#);
        assert_eq!(json_list(&[]), "[]");
    }

    #[test]
    fn tables_align_columns() {
        let rows =
            vec![vec!["a".to_string(), "bb".to_string(), String::new()], vec!["ccc".into(), "d".into(), "e".into()]];
        assert_eq!(table(&rows, "  "), "  a    bb\n  ccc  d   e\n");
    }
}
