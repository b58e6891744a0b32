//! The dataflow graph of a function in Graphviz's dot language (`gradjit dump --format dot`).
//!
//! Parameters are ellipses, equations are boxes labelled with their text, outputs are plain
//! labels; each edge carries the name of the value it moves. Render with `dot -Tsvg`.

use gradjit_ir::text::{print_eqn, ValueNames};
use gradjit_ir::Function;
use std::fmt::Write;

/// The dot text of `f`, as a digraph named `name`.
pub fn graph(f: &Function, name: &str, param_names: &[String], output_names: &[String]) -> String {
    let names = ValueNames::new(f);
    let mut out = format!("digraph {} {{\n", quote(name));
    out.push_str(
        "  rankdir=TB;\n  node [fontname=\"monospace\" fontsize=10];\n  edge [fontname=\"monospace\" fontsize=9];\n",
    );
    // The node that defines each value: `p<i>` for parameter i, `e<i>` for equation i.
    let mut source = vec![None; f.num_values()];
    for (i, &p) in f.params.iter().enumerate() {
        let label = format!("{} ({}:{})", param_names.get(i).map_or("?", String::as_str), names.name(p), f.ty(p));
        let _ = writeln!(out, "  p{i} [shape=ellipse label={}];", quote(&label));
        source[p.index()] = Some(format!("p{i}"));
    }
    for (i, e) in f.eqns.iter().enumerate() {
        // Left-justified lines (`\l`), so a multi-line `call` body keeps its indentation.
        let label: String = print_eqn(f, i).lines().map(|l| escape(l) + "\\l").collect();
        let _ = writeln!(out, "  e{i} [shape=box label=\"{label}\"];");
        for &v in &e.inputs {
            if let Some(Some(from)) = source.get(v.index()) {
                let _ = writeln!(out, "  {from} -> e{i} [label={}];", quote(&names.name(v)));
            }
        }
        for &o in &e.outputs {
            source[o.index()] = Some(format!("e{i}"));
        }
    }
    for (i, &o) in f.outputs.iter().enumerate() {
        let label = format!("{}: {}", output_names.get(i).map_or("?", String::as_str), f.ty(o));
        let _ = writeln!(out, "  o{i} [shape=plaintext label={}];", quote(&label));
        if let Some(Some(from)) = source.get(o.index()) {
            let _ = writeln!(out, "  {from} -> o{i} [label={}];", quote(&names.name(o)));
        }
    }
    out.push_str("}\n");
    out
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_and_edges_follow_the_dataflow() {
        let f = gradjit_ir::parse_function(
            "{ lambda ; x:f32[3]. let y:f32[3] = sin x\n z:f32[] = reduce_sum[axes=(0,)] y in (z, x) }",
        )
        .unwrap();
        let dot = graph(&f, "t.gj", &["x".into()], &["z".into(), "x".into()]);
        assert_eq!(
            dot,
            "digraph \"t.gj\" {\n  rankdir=TB;\n  node [fontname=\"monospace\" fontsize=10];\n  \
             edge [fontname=\"monospace\" fontsize=9];\n  \
             p0 [shape=ellipse label=\"x (a:f32[3])\"];\n  \
             e0 [shape=box label=\"b:f32[3] = sin a\\l\"];\n  p0 -> e0 [label=\"a\"];\n  \
             e1 [shape=box label=\"c:f32[] = reduce_sum[axes=(0,)] b\\l\"];\n  e0 -> e1 [label=\"b\"];\n  \
             o0 [shape=plaintext label=\"z: f32[]\"];\n  e1 -> o0 [label=\"c\"];\n  \
             o1 [shape=plaintext label=\"x: f32[3]\"];\n  p0 -> o1 [label=\"a\"];\n}\n"
        );
    }
}
