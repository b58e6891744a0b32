//! Splits IR text into tokens: punctuation, quoted strings and words.
//!
//! A *word* is a run of `[A-Za-z0-9_.+-]` (starting with anything but `.`): names, keywords,
//! dtypes, integers and scalars such as `-2.5e-8` or `1.0-0.5j` are all words, and the parser
//! reads each according to where it stands. `#` starts a comment that runs to the end of the line.

use super::error::{ParseError, Pos};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    Word(String),
    /// A `"…"` string, unescaped.
    Str(String),
    /// One of `{ } ( ) [ ] , : ; . =`.
    Punct(char),
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

const PUNCT: &str = "{}()[],:;.=";

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
}

/// The tokens of `src`, ending with [`Tok::Eof`].
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = src.chars().peekable();
    let mut pos = Pos { line: 1, col: 1 };
    let advance = |c: char, pos: &mut Pos| {
        if c == '\n' {
            *pos = Pos { line: pos.line + 1, col: 1 };
        } else {
            pos.col += 1;
        }
    };
    while let Some(&c) = chars.peek() {
        let start = pos;
        if c.is_whitespace() {
            chars.next();
            advance(c, &mut pos);
        } else if c == '#' {
            while let Some(&c) = chars.peek() {
                if c == '\n' {
                    break;
                }
                chars.next();
                advance(c, &mut pos);
            }
        } else if PUNCT.contains(c) {
            chars.next();
            advance(c, &mut pos);
            tokens.push(Token { tok: Tok::Punct(c), pos: start });
        } else if is_word_char(c) {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|&&c| is_word_char(c)) {
                word.push(c);
                chars.next();
                advance(c, &mut pos);
            }
            tokens.push(Token { tok: Tok::Word(word), pos: start });
        } else if c == '"' {
            chars.next();
            advance(c, &mut pos);
            let mut text = String::new();
            loop {
                let Some(c) = chars.next() else { return Err(ParseError::new(src, start, "unterminated string")) };
                advance(c, &mut pos);
                match c {
                    '"' => break,
                    '\\' => {
                        let Some(e) = chars.next() else {
                            return Err(ParseError::new(src, start, "unterminated string"));
                        };
                        advance(e, &mut pos);
                        text.push(if e == 'n' { '\n' } else { e });
                    }
                    '\n' => return Err(ParseError::new(src, start, "unterminated string")),
                    c => text.push(c),
                }
            }
            tokens.push(Token { tok: Tok::Str(text), pos: start });
        } else {
            return Err(ParseError::new(src, start, format!("unexpected character `{c}`")));
        }
    }
    tokens.push(Token { tok: Tok::Eof, pos });
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }
    fn w(s: &str) -> Tok {
        Tok::Word(s.into())
    }

    #[test]
    fn words_hold_names_numbers_and_scalars() {
        use Tok::Punct as P;
        assert_eq!(
            toks("c:f32[2,3]. let # comment\n x=-2.5e-8 1.0-0.5j loc(\"a\\\"b\":1:2)"),
            vec![
                w("c"),
                P(':'),
                w("f32"),
                P('['),
                w("2"),
                P(','),
                w("3"),
                P(']'),
                P('.'),
                w("let"),
                w("x"),
                P('='),
                w("-2.5e-8"),
                w("1.0-0.5j"),
                w("loc"),
                P('('),
                Tok::Str("a\"b".into()),
                P(':'),
                w("1"),
                P(':'),
                w("2"),
                P(')'),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let t = lex("a\n  bc =").unwrap();
        let pos: Vec<(usize, usize)> = t.iter().map(|t| (t.pos.line, t.pos.col)).collect();
        assert_eq!(pos, vec![(1, 1), (2, 3), (2, 6), (2, 7)]);
    }

    #[test]
    fn bad_characters_and_strings_are_located() {
        let e = lex("a\n b $").unwrap_err();
        assert_eq!((e.line, e.col, e.message.as_str()), (2, 4, "unexpected character `$`"));
        let e = lex("loc(\"abc").unwrap_err();
        assert_eq!((e.line, e.col, e.message.as_str()), (1, 5, "unterminated string"));
    }
}
