//! Where the parser's tokens come from: a text's token stream straight from the lexer, when
//! the text has nothing for the macro and preprocessor passes (most scripts, and every large
//! one measured), so that its tokens are never all held at once; otherwise the vector those
//! passes return.

use super::lexer::{Stream, T, Tok};

/// Tokens one at a time, `Eof` at the end and on every later call.
pub trait TokenSource {
    fn next_tok(&mut self) -> Tok;
}

impl TokenSource for Stream<'_> {
    fn next_tok(&mut self) -> Tok {
        Stream::next_tok(self)
    }
}

/// The tokens the macro and preprocessor passes returned (the last one is `Eof`).
pub struct VecSource {
    toks: std::vec::IntoIter<Tok>,
    last: Tok,
}

impl VecSource {
    pub fn new(toks: Vec<Tok>) -> VecSource {
        let last = toks.last().copied().unwrap_or(Tok {
            t: T::Eof,
            span: crate::diag::Span::new(crate::diag::FileId(0), 0..0),
            from_arg: None,
            line_start: true,
        });
        VecSource {
            toks: toks.into_iter(),
            last,
        }
    }
}

impl TokenSource for VecSource {
    fn next_tok(&mut self) -> Tok {
        self.toks.next().unwrap_or(self.last)
    }
}

/// Whether a text may hold a token that the macro pass (`@NAME`) or the preprocessor (`%(`,
/// `%?`, `%:`, `%)`, `$N`, `@N`, `$#`, `@#`) acts on. A byte test, so it may say yes for a
/// text that only has such bytes in a string or comment; that text takes the passes, which
/// give its tokens back unchanged.
pub fn needs_token_passes(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr2(b'@', b'$', b).is_some()
        || memchr::memchr_iter(b'%', b)
            .any(|i| matches!(b.get(i + 1), Some(b'(' | b'?' | b':' | b')')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Diags, Origin, SourceMap};
    use crate::syntax::{lexer, parser, print};

    /// A text parsed as `parse_file` parses it and from its whole token vector: the same tree
    /// (as `-p1` prints it) and the same diagnostics, in the same order.
    fn both_ways(text: &str) -> (String, String) {
        let mut sm = SourceMap::default();
        let f = sm.add("<t>", text, Origin::Script);
        let mut d1 = Diags::default();
        let s1 = crate::syntax::parse_file(
            &sm,
            f,
            &mut crate::syntax::preprocess::NoKernel {
                args: vec![],
                guru: false,
            },
            &Default::default(),
            &mut d1,
        );
        let mut d2 = Diags::default();
        let toks = lexer::lex(f, text, &[], &mut d2);
        let s2 = parser::parse(&mut VecSource::new(toks), Origin::Script, false, &mut d2);
        assert_eq!(print::script(&s1), print::script(&s2), "{text}");
        assert_eq!(format!("{:?}", d1.list), format!("{:?}", d2.list), "{text}");
        (print::script(&s1), format!("{:?}", d1.list))
    }

    #[test]
    fn streamed_and_whole_agree() {
        let deep = format!(
            "probe begin {{ x = {}1{} }}",
            "(".repeat(1100),
            ")".repeat(1100)
        );
        for text in [
            "global a\nprobe begin { a[1] = 2 foreach ([k] in a limit 1) println(k) }",
            "probe begin { s = \"a\\tb\" x = 0x10 } function f:long(v) { return v + 1 }",
            // Lexer errors after a parse error, and a parse error between lexer errors.
            "probe begin { x = ( }\nprobe end { y = 1 ` z = 08 }",
            "probe begin { ` x = }\n\"unterminated\nprobe end { }",
            // The parser stops at the nesting limit; the lexer's later errors still come.
            &(deep + "\nprobe end { ` }"),
            "",
        ] {
            assert!(!needs_token_passes(text));
            // Debug builds' frames are large: the nesting limit needs more than a test
            // thread's stack.
            let text = text.to_string();
            std::thread::Builder::new()
                .stack_size(256 << 20)
                .spawn(move || both_ways(&text))
                .unwrap()
                .join()
                .unwrap();
        }
        let (_, diags) = both_ways("probe begin { ` x = }");
        assert!(diags.contains("unexpected character"), "{diags}");
    }

    #[test]
    fn passes_are_skipped_only_when_they_have_nothing_to_do() {
        assert!(!needs_token_passes(
            "probe begin { printf(\"%d%s\", 1, \"\") }"
        ));
        for t in [
            "@define x %( 1 %)",
            "$1",
            "@1",
            "%( arch == \"x86_64\" %? 1 %: 2 %)",
        ] {
            assert!(needs_token_passes(t), "{t}");
        }
    }
}
