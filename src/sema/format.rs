//! `printf`/`sprintf` formats: parsed at translation time into pieces, each conversion with the
//! argument type it takes, so that the C writer never passes a script string to the runtime's
//! formatter (runtime-c/stp_format.h).

use crate::diag::{Diag, Span, codes};
use crate::ir::{FmtPiece, FmtSize, Ty};

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
        let size = |chars: &mut std::iter::Peekable<std::str::Chars>,
                    spec: &mut String|
         -> Option<FmtSize> {
            if chars.peek() == Some(&'*') {
                chars.next();
                spec.push('*');
                return Some(FmtSize::Star);
            }
            num(chars, spec).map(FmtSize::Fixed)
        };
        let width = size(&mut chars, &mut spec);
        let precision = if chars.peek() == Some(&'.') {
            spec.push('.');
            chars.next();
            Some(size(&mut chars, &mut spec).unwrap_or(FmtSize::Fixed(0)))
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
            return Err(Diag::error(
                codes::FORMAT,
                span,
                // As the script spells it: `%z\n`, not a line break inside the quotes.
                format!("unknown format directive `{}`", spec.escape_debug()),
            )
            .label("in this format")
            .help("known directives: %d %i %u %x %X %o %c %s %p %%, with flags, width and precision (a number or `*`)"));
        }
        let big = |s: Option<FmtSize>| matches!(s, Some(FmtSize::Fixed(n)) if n > 1024);
        if big(width) || big(precision) {
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

/// The type of each argument the format takes, in order: a `*` width, then a `*` precision,
/// then the value, for each conversion. An iterator, not a vector: inference asks at every
/// printf of every round.
pub fn arg_types(pieces: &[FmtPiece]) -> impl Iterator<Item = Ty> + '_ {
    pieces
        .iter()
        .flat_map(|p| {
            let FmtPiece::Conv {
                width,
                precision,
                conv,
                ..
            } = p
            else {
                return [None; 3];
            };
            let star = |s: &Option<FmtSize>| (*s == Some(FmtSize::Star)).then_some(Ty::Long);
            [star(width), star(precision), Some(arg_type(*conv))]
        })
        .flatten()
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
            let size = |z: &FmtSize| match z {
                FmtSize::Fixed(n) => n.to_string(),
                FmtSize::Star => "*".into(),
            };
            if let Some(w) = width {
                s.push_str(&size(w));
            }
            if let Some(p) = precision {
                s.push('.');
                s.push_str(&size(p));
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
        let p = parse("%*d|%-*.*s", sp()).unwrap();
        assert_eq!(
            arg_types(&p).collect::<Vec<_>>(),
            vec![Ty::Long, Ty::Long, Ty::Long, Ty::Long, Ty::Str]
        );
        assert_eq!(directive_text(&p[2]), "%-*.*s");
    }
}
