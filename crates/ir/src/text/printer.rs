//! The canonical printer.
//!
//! Values are named in definition order (parameters, then equation outputs) with [`value_name`],
//! so a printed function does not depend on the ids its values happened to get. The printer
//! never fails and never panics, even on a malformed function: it is what the verifier shows
//! when it reports one. A value used but defined nowhere prints as `%<id>`, which the parser
//! rejects.

use super::params::{params, Param};
use crate::function::{Eqn, Function, Loc, Value};
use std::fmt::{self, Write};

/// What to print besides the IR itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Append ` loc("file":line:col)` to every equation that has a source location.
    pub locs: bool,
}

/// The name of the `n`th value defined in a function: `a` … `z`, `ba` … `bz`, `ca`, … (the
/// digits of `n` in base 26, as jaxprs name their variables).
pub fn value_name(n: usize) -> String {
    let mut digits = Vec::new();
    let mut n = n;
    loop {
        digits.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| d as char).collect()
}

/// The names the printer gives the values of one function.
#[derive(Clone, Debug)]
pub struct ValueNames {
    /// Definition rank of each value, indexed by value id.
    rank: Vec<Option<usize>>,
}

impl ValueNames {
    pub fn new(f: &Function) -> ValueNames {
        let mut rank = vec![None; f.num_values()];
        let mut next = 0;
        let binders = f.params.iter().chain(f.eqns.iter().flat_map(|e| e.outputs.iter()));
        for v in binders {
            // A value defined twice keeps its first name, so the text shows the duplicate.
            if let Some(slot @ None) = rank.get_mut(v.index()) {
                *slot = Some(next);
                next += 1;
            }
        }
        ValueNames { rank }
    }

    /// The printed name of `v`.
    pub fn name(&self, v: Value) -> String {
        match self.rank.get(v.index()).copied().flatten() {
            Some(n) => value_name(n),
            None => format!("%{}", v.index()),
        }
    }
}

impl fmt::Display for Function {
    /// The canonical text of the function, without source locations.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&print_function(self, PrintOptions::default()))
    }
}

impl Function {
    /// The canonical text with ` loc("file":line:col)` after each located equation.
    pub fn to_text_with_locs(&self) -> String {
        print_function(self, PrintOptions { locs: true })
    }
}

/// The text of `f` (no trailing newline).
pub fn print_function(f: &Function, opts: PrintOptions) -> String {
    let mut p = Printer::new(opts);
    p.function(f, 0);
    p.out
}

/// The 1-based line of each top-level equation in [`print_function`]'s text. Equation `i` is
/// on line `i + 2` unless an earlier equation holds a multi-line nested function.
pub fn eqn_lines(f: &Function) -> Vec<usize> {
    let mut p = Printer::new(PrintOptions::default());
    p.function(f, 0);
    p.eqn_lines
}

/// The 1-based lines of [`print_function`]'s text on which the sub-functions of top-level
/// equation `i` start (each continues the line of the parameter that holds it), in the order of
/// [`Prim::bodies`](crate::Prim::bodies).
pub fn body_lines(f: &Function, i: usize) -> Vec<usize> {
    let mut p = Printer::new(PrintOptions::default());
    p.bodies_of = Some(i);
    p.function(f, 0);
    p.body_lines
}

/// The text of equation `i` of `f`, named as in the whole function's text, without indentation
/// (a nested function in it spans several lines). Empty if there is no equation `i`.
pub fn print_eqn(f: &Function, i: usize) -> String {
    let Some(e) = f.eqns.get(i) else { return String::new() };
    let mut p = Printer::new(PrintOptions::default());
    p.eqn(f, &ValueNames::new(f), e, 0);
    p.out
}

struct Printer {
    out: String,
    opts: PrintOptions,
    /// Lines of the top-level equations, filled by `function` at depth 1.
    eqn_lines: Vec<usize>,
    /// How many functions are being printed (1 while printing the top-level equations).
    depth: usize,
    /// The top-level equation being printed.
    current_eqn: usize,
    /// The top-level equation whose sub-functions' first lines go to `body_lines`.
    bodies_of: Option<usize>,
    body_lines: Vec<usize>,
}

impl Printer {
    fn new(opts: PrintOptions) -> Printer {
        Printer {
            out: String::new(),
            opts,
            eqn_lines: Vec::new(),
            depth: 0,
            current_eqn: 0,
            bodies_of: None,
            body_lines: Vec::new(),
        }
    }

    fn line(&self) -> usize {
        self.out.matches('\n').count() + 1
    }

    /// Writes a sub-function of an equation (see [`Printer::function`]).
    fn body(&mut self, f: &Function, indent: usize) {
        if self.depth == 1 && self.bodies_of == Some(self.current_eqn) {
            self.body_lines.push(self.line());
        }
        self.function(f, indent);
    }

    /// Writes `f` whose first line continues the current line and whose other lines are
    /// indented by `indent` (plus 4 for equations, 2 for `in`).
    fn function(&mut self, f: &Function, indent: usize) {
        let names = ValueNames::new(f);
        self.depth += 1;
        self.out.push_str("{ lambda ; ");
        for (i, &p) in f.params.iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            self.binder(f, &names, p);
        }
        self.out.push_str(". let\n");
        for (k, e) in f.eqns.iter().enumerate() {
            if self.depth == 1 {
                self.eqn_lines.push(self.line());
                self.current_eqn = k;
            }
            self.spaces(indent + 4);
            self.eqn(f, &names, e, indent + 4);
            self.out.push('\n');
        }
        self.spaces(indent + 2);
        self.out.push_str("in ");
        let outs: Vec<String> = f.outputs.iter().map(|&v| names.name(v)).collect();
        self.out.push_str(&tuple_text(&outs));
        self.out.push_str(" }");
        self.depth -= 1;
    }

    fn eqn(&mut self, f: &Function, names: &ValueNames, e: &Eqn, indent: usize) {
        for &o in &e.outputs {
            self.binder(f, names, o);
            self.out.push(' ');
        }
        self.out.push_str("= ");
        self.out.push_str(e.prim.name());
        let ps = params(&e.prim);
        if !ps.is_empty() {
            self.out.push('[');
            for (i, (key, value)) in ps.into_iter().enumerate() {
                if i > 0 {
                    self.out.push(' ');
                }
                self.out.push_str(key);
                self.out.push('=');
                self.param(value, indent);
            }
            self.out.push(']');
        }
        for &v in &e.inputs {
            self.out.push(' ');
            self.out.push_str(&names.name(v));
        }
        if let (true, Some(loc)) = (self.opts.locs, &e.loc) {
            self.out.push(' ');
            write_loc(&mut self.out, loc);
        }
    }

    fn param(&mut self, value: Param<'_>, indent: usize) {
        let out = &mut self.out;
        // Writing to a String cannot fail.
        let _ = match value {
            Param::Int(n) => write!(out, "{n}"),
            Param::Tuple(t) => write!(out, "{}", tuple_text(t)),
            Param::DType(d) => write!(out, "{d}"),
            Param::Scalar(s) => s.write_text(out),
            Param::Dense(a) => {
                out.push('[');
                for (i, s) in a.scalars().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = s.write_text(out);
                }
                out.push(']');
                Ok(())
            }
            Param::Bool(b) => write!(out, "{b}"),
            Param::Word(w) => out.write_str(w),
            Param::Function(body) => {
                self.body(body, indent + 4);
                Ok(())
            }
            Param::Functions(bodies) => {
                self.out.push('(');
                for (i, body) in bodies.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.body(body, indent + 4);
                }
                self.out.push_str(if bodies.len() == 1 { ",)" } else { ")" });
                Ok(())
            }
        };
    }

    fn binder(&mut self, f: &Function, names: &ValueNames, v: Value) {
        self.out.push_str(&names.name(v));
        self.out.push(':');
        if v.index() < f.num_values() {
            let _ = write!(self.out, "{}", f.ty(v));
        } else {
            self.out.push('?');
        }
    }

    fn spaces(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }
}

/// `()`, `(a,)`, `(a, b)`: the Python tuple spelling.
pub(crate) fn tuple_text<T: fmt::Display>(items: &[T]) -> String {
    match items {
        [x] => format!("({x},)"),
        xs => format!("({})", xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", ")),
    }
}

/// `loc("file":line:col)`, with `"`, `\` and newlines in the file name escaped as in Rust.
fn write_loc(out: &mut String, loc: &Loc) {
    out.push_str("loc(\"");
    for c in loc.file.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    let _ = write!(out, "\":{}:{})", loc.line, loc.col);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::{DType, TensorType};
    use crate::prim::{BinaryOp, Prim, ReduceOp, UnaryOp};
    use smallvec::smallvec;

    #[test]
    fn value_names_count_in_base_26() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 675, 676].into_iter().map(value_name).collect();
        assert_eq!(names, ["a", "b", "z", "ba", "bb", "bz", "ca", "zz", "baa"]);
    }

    /// The example of `docs/ir-format.md`, built through the API.
    #[test]
    fn prints_the_documented_example() {
        let mut f = Function::new();
        let f32_ = |dims: &[usize]| TensorType::new(DType::F32, dims);
        let a = f.add_param(f32_(&[1]));
        let b = f.add_param(f32_(&[10]));
        let c = f.add_param(f32_(&[10]));
        let push = |f: &mut Function, p: Prim, ins: &[Value]| f.push1(p, ins, None).unwrap();
        let d = push(&mut f, Prim::Binary(BinaryOp::Mul), &[b, c]);
        let e = push(&mut f, Prim::splat(3.3368979, &f32_(&[])), &[]);
        let bcast = |shape: &[usize], dims: Vec<usize>| Prim::BroadcastInDim {
            shape: shape.into(),
            dims: dims.into_iter().collect(),
        };
        let ff = push(&mut f, bcast(&[1], vec![]), &[e]);
        let g = push(&mut f, Prim::Binary(BinaryOp::Mul), &[a, ff]);
        let h = push(&mut f, bcast(&[10], vec![0]), &[g]);
        let i = push(&mut f, Prim::Binary(BinaryOp::Add), &[d, h]);
        let j = push(&mut f, Prim::Unary(UnaryOp::Tanh), &[i]);
        let k = push(&mut f, Prim::Reduce { op: ReduceOp::Sum, axes: smallvec![0] }, &[j]);
        let l = push(&mut f, Prim::splat(10.0, &f32_(&[])), &[]);
        let m = push(&mut f, Prim::Binary(BinaryOp::Div), &[k, l]);
        f.outputs.push(m);
        let want = "\
{ lambda ; a:f32[1] b:f32[10] c:f32[10]. let
    d:f32[10] = mul b c
    e:f32[] = constant[value=3.3368979]
    f:f32[1] = broadcast_in_dim[shape=(1,) broadcast_dimensions=()] e
    g:f32[1] = mul a f
    h:f32[10] = broadcast_in_dim[shape=(10,) broadcast_dimensions=(0,)] g
    i:f32[10] = add d h
    j:f32[10] = tanh i
    k:f32[] = reduce_sum[axes=(0,)] j
    l:f32[] = constant[value=10.0]
    m:f32[] = div k l
  in (m,) }";
        assert_eq!(f.to_string(), want);
        assert_eq!(print_eqn(&f, 2), "f:f32[1] = broadcast_in_dim[shape=(1,) broadcast_dimensions=()] e");
        assert_eq!(eqn_lines(&f), (2..12).collect::<Vec<_>>());
    }

    #[test]
    fn prints_nested_bodies_indented_and_locations_on_request() {
        let ty = TensorType::new(DType::F64, [3]);
        let mut body = Function::new();
        let x = body.add_param(ty.clone());
        let y = body.push1(Prim::Unary(UnaryOp::Sin), &[x], None).unwrap();
        body.outputs.push(y);
        let mut f = Function::new();
        let a = f.add_param(ty.clone());
        let loc = Some(Loc::new("src/my \"model\".rs", 12, 5));
        let b = f.push1(Prim::Call { body: body.into() }, &[a], loc.clone()).unwrap();
        let c = f.push1(Prim::Unary(UnaryOp::Neg), &[b], loc).unwrap();
        f.outputs.extend([c, a]);
        assert_eq!(
            f.to_string(),
            "\
{ lambda ; a:f64[3]. let
    b:f64[3] = call[body={ lambda ; a:f64[3]. let
            b:f64[3] = sin a
          in (b,) }] a
    c:f64[3] = neg b
  in (c, a) }"
        );
        assert_eq!(eqn_lines(&f), vec![2, 5]);
        let with_locs = f.to_text_with_locs();
        assert!(with_locs.contains("    c:f64[3] = neg b loc(\"src/my \\\"model\\\".rs\":12:5)\n"), "{with_locs}");
    }

    #[test]
    fn malformed_functions_still_print() {
        let mut f = Function::new();
        let a = f.add_param(TensorType::scalar(DType::F32));
        f.params.push(Value::from_index(7));
        f.outputs.extend([a, Value::from_index(3)]);
        assert_eq!(f.to_string(), "{ lambda ; a:f32[] %7:?. let\n  in (a, %3) }");
    }
}
