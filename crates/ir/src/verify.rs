//! The verifier: checks that a [`Function`] is well formed, as JAX's `check_jaxpr` and
//! Cranelift's verifier do.
//!
//! It checks the SSA rules (every value defined exactly once, by a parameter or an equation;
//! every operand defined before it is used; every output defined) and re-derives the type of
//! every equation with [`shape_rules::infer`], comparing it with the types the equation
//! declares. Sub-functions (of `call`, `scan`, `while`, `cond` and the custom derivatives) are
//! verified recursively, before their signatures are trusted.
//!
//! Builders that check as they go ([`Function::push`]) cannot break these rules; parsers and
//! passes that use [`Function::push_typed`] or edit equations in place can, and every pass is
//! tested by verifying its output.
//!
//! The first problem found is reported as a [`VerifyError`] whose `Display` shows the message
//! and the printed function around the bad line, marked with `>`:
//!
//! ```text
//! equation 1: sin produces f32[3] but declares its output d as f32[4]
//!   { lambda ; a:f32[3] b:f32[3]. let
//!       c:f32[3] = mul a b
//! >     d:f32[4] = sin c
//!       e:f32[3] = add c c
//!     in (e,) }
//! ```

use crate::function::{Function, Value};
use crate::prim::Prim;
use crate::shape_rules;
use crate::text::{body_lines, eqn_lines, ValueNames};
use std::fmt;

/// Lines shown before and after the offending ones.
const CONTEXT_LINES: usize = 3;

/// A malformed function: what is wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// The offending top-level equation; `None` when the parameters or outputs are at fault.
    pub eqn: Option<usize>,
    /// What is wrong, naming the equation, the values (by their printed names) and the types.
    pub message: String,
    /// The printed function around the error, one line per line, the offending ones marked
    /// with `>` in the margin.
    pub context: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.context.is_empty() {
            write!(f, "\n{}", self.context)?;
        }
        Ok(())
    }
}

impl std::error::Error for VerifyError {}

/// Checks that `f` is well formed.
pub fn verify(f: &Function) -> Result<(), VerifyError> {
    check(f).map_err(|failure| {
        let text = f.to_string();
        let (first, last) = failure.lines(f);
        VerifyError { eqn: failure.eqn, message: failure.message, context: context(&text, first, last) }
    })
}

/// Where in the printed function a failure is.
enum Site {
    Params,
    Eqn(usize),
    Outputs,
    /// A 1-based inclusive line range (a failure inside a nested body).
    Lines(usize, usize),
}

/// A failure before it is rendered (the text is printed only when there is one).
struct Failure {
    eqn: Option<usize>,
    message: String,
    site: Site,
}

impl Failure {
    fn eqn(i: usize, message: String) -> Failure {
        Failure { eqn: Some(i), message: format!("equation {i}: {message}"), site: Site::Eqn(i) }
    }

    /// The 1-based inclusive range of lines of `f`'s text this failure is about.
    fn lines(&self, f: &Function) -> (usize, usize) {
        let starts = eqn_lines(f);
        // The header `{ lambda ; …. let` is line 1; the last line is `in (…) }`.
        let in_line = f.to_string().lines().count();
        match self.site {
            Site::Params => (1, 1),
            Site::Outputs => (in_line, in_line),
            Site::Eqn(i) => {
                let start = starts.get(i).copied().unwrap_or(in_line);
                let end = starts.get(i + 1).map_or(in_line - 1, |next| next - 1);
                (start, end.max(start))
            }
            Site::Lines(first, last) => (first, last),
        }
    }
}

/// How a value came to be defined.
#[derive(Clone, Copy)]
enum Def {
    Param(usize),
    Eqn(usize),
}

fn check(f: &Function) -> Result<(), Failure> {
    let names = ValueNames::new(f);
    let in_range = |v: Value| v.index() < f.num_values();
    let mut defined: Vec<Option<Def>> = vec![None; f.num_values()];

    for (k, &p) in f.params.iter().enumerate() {
        let fail = |message: String| Failure { eqn: None, message, site: Site::Params };
        if !in_range(p) {
            return Err(fail(format!("parameter {k} ({}) is not a value of this function", names.name(p))));
        }
        if let Some(Def::Param(j)) = defined[p.index()] {
            return Err(fail(format!("parameter {k} ({}) repeats parameter {j}", names.name(p))));
        }
        defined[p.index()] = Some(Def::Param(k));
    }

    // The first equation defining each value, to tell "defined later" from "never defined".
    let mut first_def = vec![None; f.num_values()];
    for (i, e) in f.eqns.iter().enumerate().rev() {
        for &o in e.outputs.iter().filter(|&&o| in_range(o)) {
            first_def[o.index()] = Some(i);
        }
    }

    for (i, e) in f.eqns.iter().enumerate() {
        let prim = e.prim.name();
        for (k, &v) in e.inputs.iter().enumerate() {
            let name = names.name(v);
            if !in_range(v) {
                return Err(Failure::eqn(i, format!("operand {k} ({name}) of {prim} is not a value of this function")));
            }
            if defined[v.index()].is_none() {
                let detail = match first_def[v.index()] {
                    Some(j) if j == i => "it is an output of this equation".to_string(),
                    Some(j) => format!("it is defined later, by equation {j}"),
                    None => "it is never defined".to_string(),
                };
                return Err(Failure::eqn(
                    i,
                    format!("operand {k} ({name}) of {prim} is used before it is defined: {detail}"),
                ));
            }
        }
        for &o in &e.outputs {
            let name = names.name(o);
            if !in_range(o) {
                return Err(Failure::eqn(i, format!("output {name} of {prim} is not a value of this function")));
            }
            match defined[o.index()] {
                Some(Def::Param(k)) => {
                    return Err(Failure::eqn(i, format!("{name} is defined twice: it is already parameter {k}")))
                }
                Some(Def::Eqn(j)) => {
                    return Err(Failure::eqn(
                        i,
                        format!("{name} is defined twice: it is already defined by equation {j}"),
                    ))
                }
                None => defined[o.index()] = Some(Def::Eqn(i)),
            }
        }
        for (k, body) in e.prim.bodies().into_iter().enumerate() {
            check(body).map_err(|inner| nested(f, i, k, body, inner))?;
        }
        check_types(f, &names, i)?;
    }

    for (k, &v) in f.outputs.iter().enumerate() {
        if !in_range(v) || defined[v.index()].is_none() {
            let message = format!("output {k} ({}) is not defined", names.name(v));
            return Err(Failure { eqn: None, message, site: Site::Outputs });
        }
    }
    Ok(())
}

/// Re-derives the output types of equation `i` and compares them with the declared ones.
fn check_types(f: &Function, names: &ValueNames, i: usize) -> Result<(), Failure> {
    let e = &f.eqns[i];
    let prim = e.prim.name();
    let in_tys: Vec<_> = e.inputs.iter().map(|&v| f.ty(v)).collect();
    let inferred = shape_rules::infer(&e.prim, &in_tys).map_err(|err| Failure::eqn(i, err.to_string()))?;
    if inferred.len() != e.outputs.len() {
        let tys = inferred.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
        return Err(Failure::eqn(
            i,
            format!("{prim} produces {} output(s) ({tys}) but the equation binds {}", inferred.len(), e.outputs.len()),
        ));
    }
    for (&o, want) in e.outputs.iter().zip(&inferred) {
        if f.ty(o) != want {
            let name = names.name(o);
            return Err(Failure::eqn(
                i,
                format!("{prim} produces {want} but declares its output {name} as {}", f.ty(o)),
            ));
        }
    }
    Ok(())
}

/// A failure inside sub-function `k` of equation `i` of `f`, seen from `f`: the sub-function is
/// printed inside the equation, starting on the line of its parameter, so its lines shift by
/// that line.
fn nested(f: &Function, i: usize, k: usize, body: &Function, inner: Failure) -> Failure {
    let (first, last) = inner.lines(body);
    let start = body_lines(f, i).get(k).copied().unwrap_or(1);
    let prim = &f.eqns[i].prim;
    let which = match (prim, k) {
        (Prim::While { .. }, 0) => "its condition".to_string(),
        (Prim::Cond { .. }, k) => format!("branch {k}"),
        (Prim::CustomJvp { .. }, 1) => "its jvp rule".to_string(),
        (Prim::CustomVjp { .. }, 1) => "its fwd rule".to_string(),
        (Prim::CustomVjp { .. }, 2) | (Prim::CustomLin { .. }, _) => "its bwd rule".to_string(),
        _ => "its body".to_string(),
    };
    Failure {
        eqn: Some(i),
        message: format!("equation {i} ({}), in {which}: {}", prim.name(), inner.message),
        site: Site::Lines(start + first - 1, start + last - 1),
    }
}

/// Lines `first..=last` (1-based) of `text` marked with `>`, with up to [`CONTEXT_LINES`] lines
/// either side.
fn context(text: &str, first: usize, last: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let lo = first.saturating_sub(CONTEXT_LINES).max(1);
    let hi = (last + CONTEXT_LINES).min(lines.len());
    let mut out = Vec::new();
    if lo > 1 {
        out.push("  ...".to_string());
    }
    for (n, line) in lines.iter().enumerate().take(hi).skip(lo - 1) {
        let marker = if (first..=last).contains(&(n + 1)) { '>' } else { ' ' };
        out.push(format!("{marker} {line}"));
    }
    if hi < lines.len() {
        out.push("  ...".to_string());
    }
    out.join("\n")
}
