//! numpy-like printing of arrays.

use crate::array::{HostArray, Scalar};
use std::fmt;

/// Beyond this many elements, only the edges of each axis are shown (numpy's threshold).
const SUMMARY_THRESHOLD: usize = 1000;
const EDGE_ITEMS: usize = 3;

fn element(s: Scalar) -> String {
    match s {
        Scalar::F32(v) => float(v as f64, 8),
        Scalar::F64(v) => float(v, 8),
        Scalar::C64(c) => {
            format!("{}{}{}j", float(c.re as f64, 8), if c.im < 0.0 { "-" } else { "+" }, float(c.im.abs() as f64, 8))
        }
        Scalar::C128(c) => format!("{}{}{}j", float(c.re, 8), if c.im < 0.0 { "-" } else { "+" }, float(c.im.abs(), 8)),
        Scalar::Bool(b) => if b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    }
}

/// numpy style: `1.`, `0.5`, `-2.25`, `1e-05`, `nan`, `inf`, at most `precision` decimals.
fn float(v: f64, precision: usize) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{:.*e}", precision, v);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let s = format!("{:.*}", precision, v);
    let s = s.trim_end_matches('0');
    s.to_string()
}

pub(crate) fn fmt_array(a: &HostArray, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if a.rank() == 0 {
        return f.write_str(&element(a.get(0)));
    }
    let summarise = a.numel() > SUMMARY_THRESHOLD;
    let texts: Vec<String> = a.scalars().map(element).collect();
    let width = texts.iter().map(|t| t.len()).max().unwrap_or(0);
    let strides = a.shape().strides();
    write_axis(a, &texts, width, &strides, 0, 0, summarise, f)
}

#[allow(clippy::too_many_arguments)]
fn write_axis(
    a: &HostArray,
    texts: &[String],
    width: usize,
    strides: &[usize],
    axis: usize,
    offset: usize,
    summarise: bool,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let n = a.dims()[axis];
    let last = axis + 1 == a.rank();
    let shown: Vec<Option<usize>> = if summarise && n > 2 * EDGE_ITEMS {
        (0..EDGE_ITEMS).map(Some).chain([None]).chain((n - EDGE_ITEMS..n).map(Some)).collect()
    } else {
        (0..n).map(Some).collect()
    };
    f.write_str("[")?;
    for (k, i) in shown.iter().enumerate() {
        if k > 0 {
            if last {
                f.write_str(" ")?;
            } else {
                f.write_str(&"\n".repeat(a.rank() - axis - 1))?;
                f.write_str(&" ".repeat(axis + 1))?;
            }
        }
        match i {
            None => f.write_str("...")?,
            Some(i) if last => write!(f, "{:>width$}", texts[offset + i * strides[axis]])?,
            Some(i) => write_axis(a, texts, width, strides, axis + 1, offset + i * strides[axis], summarise, f)?,
        }
    }
    f.write_str("]")
}
