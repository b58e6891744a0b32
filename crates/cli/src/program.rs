//! A function loaded from an IR text file, with the names its author gave the parameters and
//! outputs.
//!
//! The parser renames every value canonically (`a`, `b`, … in definition order), but a file
//! written by hand says `x`, `z`, `loss`; users refer to parameters by those names, so they are
//! recovered from the text here. A parameter can be named three ways: as written in the file,
//! by its canonical name, or by its position (`0`, `1`, …). Names as written win over canonical
//! ones when the two disagree (`{ lambda ; b:f32[] a:f32[]. …`).

use crate::error::CliError;
use gradjit_ir::text::{value_name, ValueNames};
use gradjit_ir::{parse_function, verify, Function, TensorType};
use std::path::Path;

/// A parsed, verified function and the names to show for its parameters and outputs.
#[derive(Clone, Debug)]
pub struct Program {
    /// Where it came from, as given on the command line (`-` for standard input).
    pub path: String,
    pub function: Function,
    /// The name of each parameter as written in the file.
    pub param_names: Vec<String>,
    /// A name for each output: the name written in the file when it is unique among the
    /// outputs, else `out<i>`.
    pub output_names: Vec<String>,
}

impl Program {
    /// Reads and parses `path` (`-` reads standard input).
    pub fn load(path: &str) -> Result<Program, CliError> {
        let text = if path == "-" {
            std::io::read_to_string(std::io::stdin()).map_err(|e| CliError::io("<stdin>", e))?
        } else {
            std::fs::read_to_string(Path::new(path)).map_err(|e| CliError::io(path, e))?
        };
        Program::from_text(path, &text)
    }

    /// Parses `text`, read from `path`.
    pub fn from_text(path: &str, text: &str) -> Result<Program, CliError> {
        let function = parse_function(text).map_err(|error| CliError::Parse { path: path.to_string(), error })?;
        Program::from_function(path, function, text)
    }

    /// A program for `function`, naming its values as `text` (its source) does where possible.
    pub fn from_function(path: &str, function: Function, text: &str) -> Result<Program, CliError> {
        verify(&function).map_err(|e| CliError::usage(format!("{path}: the function is malformed: {e}")))?;
        let written = WrittenNames::scan(text);
        let canonical = ValueNames::new(&function);
        let param_names = match written.params.len() == function.params.len() {
            true => written.params,
            false => (0..function.params.len()).map(value_name).collect(),
        };
        let outputs: Vec<String> = match written.outputs.len() == function.outputs.len() {
            true => written.outputs,
            false => function.outputs.iter().map(|&v| canonical.name(v)).collect(),
        };
        let output_names = outputs
            .iter()
            .enumerate()
            .map(|(i, n)| if outputs.iter().filter(|m| *m == n).count() == 1 { n.clone() } else { format!("out{i}") })
            .collect();
        Ok(Program { path: path.to_string(), function, param_names, output_names })
    }

    /// The type of parameter `i`.
    pub fn param_type(&self, i: usize) -> &TensorType {
        self.function.ty(self.function.params[i])
    }

    /// `x:f32[10]` for parameter `i`.
    pub fn describe_param(&self, i: usize) -> String {
        format!("{}:{}", self.param_names[i], self.param_type(i))
    }

    /// Every parameter, described, for error messages: `x:f32[1], y:f32[10]`.
    pub fn describe_params(&self) -> String {
        let all: Vec<String> = (0..self.param_names.len()).map(|i| self.describe_param(i)).collect();
        if all.is_empty() {
            "none".to_string()
        } else {
            all.join(", ")
        }
    }

    /// The position of the parameter that `key` names: its name as written, its canonical name, or its position.
    pub fn param_index(&self, key: &str) -> Result<usize, CliError> {
        let n = self.param_names.len();
        let found = self
            .param_names
            .iter()
            .position(|p| p == key)
            .or_else(|| (0..n).find(|&i| value_name(i) == key))
            .or_else(|| key.parse::<usize>().ok().filter(|&i| i < n));
        found.ok_or_else(|| {
            CliError::usage(format!(
                "{} has no parameter `{key}`; its parameters are {} (name them as written or by position 0..{n})",
                self.path,
                self.describe_params()
            ))
        })
    }

    /// Parameter positions from a comma-separated list of names or positions (`0,2` or `x,z`).
    pub fn param_list(&self, list: &str) -> Result<Vec<usize>, CliError> {
        let keys: Vec<&str> = list.split(',').map(str::trim).collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(CliError::usage(format!("`{list}` is not a comma-separated list of parameters")));
        }
        let indices = keys.iter().map(|k| self.param_index(k)).collect::<Result<Vec<_>, _>>()?;
        for (i, &p) in indices.iter().enumerate() {
            if indices[..i].contains(&p) {
                return Err(CliError::usage(format!("parameter `{}` is listed twice", self.param_names[p])));
            }
        }
        Ok(indices)
    }
}

/// The parameter and output names of the top-level function as written in its text.
///
/// The text has already been parsed, so a light scan suffices: the parameters are the names
/// before each `:` between the `;` and the `.` of the header `{ lambda ; x:f32[3] y:f32[]. let`,
/// and the outputs are the names in the `( … )` after the last `in` at brace depth 1.
#[derive(Debug, Default, PartialEq)]
struct WrittenNames {
    params: Vec<String>,
    outputs: Vec<String>,
}

/// The tokens that matter for the scan: words and punctuation (comments and strings dropped).
#[derive(Clone, Debug, PartialEq)]
enum Tok<'s> {
    Word(&'s str),
    Punct(char),
}

fn tokens(text: &str) -> Vec<Tok<'_>> {
    let mut toks = Vec::new();
    let mut chars = text.char_indices().peekable();
    let is_word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-');
    while let Some((i, c)) = chars.next() {
        match c {
            '#' => while chars.next_if(|&(_, c)| c != '\n').is_some() {},
            '"' => {
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => _ = chars.next(),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            c if "{}()[],:;.=".contains(c) => toks.push(Tok::Punct(c)),
            c if is_word(c) => {
                let mut end = i + c.len_utf8();
                while let Some((j, c)) = chars.next_if(|&(_, c)| is_word(c)) {
                    end = j + c.len_utf8();
                }
                toks.push(Tok::Word(&text[i..end]));
            }
            _ => {}
        }
    }
    toks
}

impl WrittenNames {
    fn scan(text: &str) -> WrittenNames {
        let toks = tokens(text);
        let mut names = WrittenNames::default();
        let Some(semi) = toks.iter().position(|t| *t == Tok::Punct(';')) else { return names };
        let header_end = toks[semi..].iter().position(|t| *t == Tok::Punct('.')).map_or(toks.len(), |e| semi + e);
        for pair in toks[semi..header_end].windows(2) {
            if let [Tok::Word(name), Tok::Punct(':')] = pair {
                names.params.push(name.to_string());
            }
        }
        let mut depth = 0usize;
        let mut last_in = None;
        for (i, t) in toks.iter().enumerate() {
            match t {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => depth = depth.saturating_sub(1),
                Tok::Word("in") if depth == 1 && toks.get(i + 1) == Some(&Tok::Punct('(')) => last_in = Some(i + 2),
                _ => {}
            }
        }
        if let Some(start) = last_in {
            for t in &toks[start..] {
                match t {
                    Tok::Word(w) => names.outputs.push(w.to_string()),
                    Tok::Punct(',') => {}
                    _ => break,
                }
            }
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "# the seed example\n{ lambda ; x:f32[1] y:f32[10]. let  # header\n\
        s:f32[] = reduce_sum[axes=(0,)] y\n  in (s, x) }";

    #[test]
    fn written_names_come_from_the_header_and_the_last_in() {
        let names = WrittenNames::scan(SEED);
        assert_eq!(names.params, ["x", "y"]);
        assert_eq!(names.outputs, ["s", "x"]);
        let nested = "{ lambda ; p:f32[]. let q:f32[] = call[body={ lambda ; a:f32[]. let in (a,) }] p \
            loc(\"in (z) # {\":1:2) in (q,) }";
        let names = WrittenNames::scan(nested);
        assert_eq!((names.params, names.outputs), (vec!["p".to_string()], vec!["q".to_string()]));
    }

    #[test]
    fn parameters_are_found_by_written_name_canonical_name_or_position() {
        let p = Program::from_text("seed.gj", SEED).unwrap();
        assert_eq!(p.param_index("y").unwrap(), 1);
        assert_eq!(p.param_index("b").unwrap(), 1);
        assert_eq!(p.param_index("0").unwrap(), 0);
        assert_eq!(p.param_list("y, 0").unwrap(), vec![1, 0]);
        let e = p.param_index("q").unwrap_err().to_string();
        assert_eq!(
            e,
            "seed.gj has no parameter `q`; its parameters are x:f32[1], y:f32[10] (name them as written or by position 0..2)"
        );
        assert!(p.param_list("x,0").unwrap_err().to_string().contains("listed twice"));
        assert!(p.param_index("2").is_err());
    }

    #[test]
    fn written_names_win_over_canonical_ones_and_duplicate_outputs_get_positions() {
        let p = Program::from_text("t.gj", "{ lambda ; b:f32[] a:f32[]. let in (a, a, b) }").unwrap();
        assert_eq!(p.param_index("a").unwrap(), 1);
        assert_eq!(p.output_names, ["out0", "out1", "b"]);
    }

    #[test]
    fn parse_errors_carry_the_path_line_column_and_a_caret() {
        let e = Program::from_text("bad.gj", "{ lambda ; a:f32[]. let\n    b:f32[] = mull a\n  in (b,) }").unwrap_err();
        assert_eq!(e.to_string(), "bad.gj:2:15: unknown primitive `mull`\n    b:f32[] = mull a\n              ^");
    }
}
