//! `printf`/`sprintf` formats: parsed at translation time into pieces, each conversion with the
//! argument type it takes, so that the C writer never passes a script string to vsnprintf.

use crate::diag::{Diag, Span, codes};
use crate::ir::{FmtPiece, Ty};

/// Parses a format; the error names the offending directive.
pub fn parse(fmt: &str, span: Span) -> Result<Vec<FmtPiece>, Diag> {
    let mut out = vec![];
    let mut text = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            text.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            text.push('%');
            continue;
        }
        let mut spec = String::from("%");
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if "-0+ #".contains(f) {
                if !flags.contains(f) {
                    flags.push(f);
                }
                spec.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let num =
            |chars: &mut std::iter::Peekable<std::str::Chars>, spec: &mut String| -> Option<u32> {
                let mut v: Option<u32> = None;
                while let Some(&d) = chars.peek() {
                    if let Some(x) = d.to_digit(10) {
                        v = Some(v.unwrap_or(0).saturating_mul(10).saturating_add(x));
                        spec.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                v
            };
        let width = num(&mut chars, &mut spec);
        let precision = if chars.peek() == Some(&'.') {
            spec.push('.');
            chars.next();
            Some(num(&mut chars, &mut spec).unwrap_or(0))
        } else {
            None
        };
        // Length modifiers are accepted and ignored: every number is 64 bits.
        while let Some(&l) = chars.peek() {
            if "lhjzt".contains(l) {
                spec.push(l);
                chars.next();
            } else {
                break;
            }
        }
        let Some(conv) = chars.next() else {
            return Err(Diag::error(
                codes::FORMAT,
                span,
                format!("format ends inside the directive `{spec}`"),
            )
            .label("incomplete directive in this format"));
        };
        spec.push(conv);
        if !"diuxXocsp".contains(conv) {
            let help = if conv == '*' {
                "a `*` width is not supported; write the width as a number".to_string()
            } else {
                "known directives: %d %i %u %x %X %o %c %s %p %%".to_string()
            };
            return Err(Diag::error(
                codes::FORMAT,
                span,
                format!("unknown format directive `{spec}`"),
            )
            .label("in this format")
            .help(help));
        }
        if width.is_some_and(|w| w > 1024) || precision.is_some_and(|p| p > 1024) {
            return Err(Diag::error(
                codes::FORMAT,
                span,
                format!("width or precision too large in `{spec}`"),
            )
            .label("in this format"));
        }
        if !text.is_empty() {
            out.push(FmtPiece::Text(std::mem::take(&mut text)));
        }
        out.push(FmtPiece::Conv {
            flags,
            width,
            precision,
            conv,
        });
    }
    if !text.is_empty() {
        out.push(FmtPiece::Text(text));
    }
    Ok(out)
}

/// The argument type a conversion takes.
pub fn arg_type(conv: char) -> Ty {
    if conv == 's' { Ty::Str } else { Ty::Long }
}

pub fn conversions(pieces: &[FmtPiece]) -> impl Iterator<Item = char> + '_ {
    pieces.iter().filter_map(|p| match p {
        FmtPiece::Conv { conv, .. } => Some(*conv),
        FmtPiece::Text(_) => None,
    })
}

pub fn directive_text(p: &FmtPiece) -> String {
    match p {
        FmtPiece::Text(t) => t.replace('%', "%%"),
        FmtPiece::Conv {
            flags,
            width,
            precision,
            conv,
        } => {
            let mut s = format!("%{flags}");
            if let Some(w) = width {
                s.push_str(&w.to_string());
            }
            if let Some(p) = precision {
                s.push_str(&format!(".{p}"));
            }
            s.push(*conv);
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::FileId;
    fn sp() -> Span {
        Span::new(FileId(0), 0..1)
    }
    #[test]
    fn pieces() {
        let p = parse("a %-5d%% %s\n", sp()).unwrap();
        assert_eq!(p.len(), 5);
        assert_eq!(conversions(&p).collect::<String>(), "ds");
        assert!(parse("%q", sp()).is_err());
        assert!(parse("%", sp()).is_err());
        assert_eq!(directive_text(&p[1]), "%-5d");
    }
}
