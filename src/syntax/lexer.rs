//! Pass 1a: text to tokens. `Stream::scan` finds the token boundaries; `next_tok` then decodes
//! literals (numbers, escapes, embedded C) and reports what cannot be a token, without stopping.

use super::name::Name;
use super::text::{STRAY, Stray, stray_at};
use crate::diag::{Diag, Diags, FileId, Span, codes};

/// What `Stream::scan` found. The token grammar, as regular expressions (between tokens, blanks
/// `[ \t\r\n\f]+`, `#` and `//` comments to the end of the line and `/* */` comments are
/// skipped; where two tokens start alike the longer wins):
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// `[A-Za-z_][A-Za-z0-9_]*`
    Ident,
    /// `[0-9][0-9A-Za-z_]*`
    Number,
    /// `"([^"\\\n]|\\[^\n])*"`
    Str,
    /// `"([^"\\\n]|\\[^\n])*\\?`: a string that the end of its line (or of the text)
    /// cuts short. A backslash that ends the line is the unterminated string's own: read as
    /// a token of its own it would be a second error for the same mistake.
    UnterminatedStr,
    /// `/*` without a `*/` after it.
    UnterminatedComment,
    /// `\$[0-9]+`
    DollarArg,
    /// `@[0-9]+`
    AtArg,
    /// `$#`
    DollarCount,
    /// `@#`
    AtCount,
    /// `\$[A-Za-z_][A-Za-z0-9_]*`
    TargetVar,
    /// `@[A-Za-z_][A-Za-z0-9_]*`
    AtMacro,
    /// `%{` and everything up to the closing `%}`, or to the end of the text if there is none
    /// (reported as unterminated).
    Embedded,
    PpOpen,
    PpThen,
    PpElse,
    PpClose,
    /// One of `OPS`.
    Op(Op),
}

/// Token kinds after decoding. Punctuation is one variant per operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    Ident(Name),
    Int(i64),
    /// A string literal's text, escapes decoded.
    Str(Name),
    /// `%{ C %}`, the C text without the delimiters.
    Embedded(Name),
    /// `$N` / `@N` before preprocessing substitutes them.
    ArgNum(u32),
    ArgStr(u32),
    ArgCount,
    /// A statistics operator: `@count`, `@sum`, `@min`, `@max`, `@avg`, `@variance`,
    /// `@hist_linear`, `@hist_log` (the name without `@`).
    AtOp(crate::syntax::ast::StatFn),
    PpOpen,
    PpThen,
    PpElse,
    PpClose,
    Op(Op),
    /// `@NAME`: a macro use or definition (`@define`), or one of SystemTap's `@` operators;
    /// the macro pass (`macros.rs`) expands the macros and the parser reports the rest.
    At(Name),
    /// `$name`: a target variable, which needs debuginfo this translator does not read.
    TargetVar(Name),
    /// Stands in for something already reported (an unsupported `@cast`, a target variable),
    /// so that the parser can step over it without follow-on errors.
    Reported,
    Eof,
}

#[derive(Debug, Clone, Copy)]
pub struct Tok {
    pub t: T,
    pub span: Span,
    /// Set on tokens that were substituted from a command-line argument: `$1 = 5`.
    pub from_arg: Option<Name>,
    /// The token starts a line (only blanks and comments before it on its line), for hints
    /// about statements that run together without `;`.
    pub line_start: bool,
}

// Small tokens: a script has about one per three bytes.
const _: () = assert!(std::mem::size_of::<Tok>() <= 40);

/// An operator token, as its index in `OPS`: one byte, so that the parser's many "is the next
/// token `;`?" tests compare a byte, not a string (they were a tenth of pass 1's instructions).
/// Written in code as `op!(";")`, which works in patterns too.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Op(pub(in crate::syntax) u8);

impl Op {
    pub fn text(self) -> &'static str {
        OPS[usize::from(self.0)]
    }
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.text())
    }
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// Every operator token; an `Op` is an index into it.
const OPS: &[&str] = &[
    "<<<", "<<=", ">>=", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", ".=", "<<",
    ">>", "<=", ">=", "==", "!=", "=~", "!~", "&&", "||", "+", "-", "*", "/", "%", "<", ">", "=",
    "!", "~", "&", "|", "^", ".", "?", ":", ";", ",", "(", ")", "{", "}", "[", "]",
];

/// The `Op` of an operator's text, as a constant (usable as a pattern). Its arms follow `OPS`;
/// a test checks every one.
#[rustfmt::skip]
macro_rules! op {
    ("<<<") => { $crate::syntax::lexer::Op(0) };
    ("<<=") => { $crate::syntax::lexer::Op(1) };
    (">>=") => { $crate::syntax::lexer::Op(2) };
    ("++") => { $crate::syntax::lexer::Op(3) };
    ("--") => { $crate::syntax::lexer::Op(4) };
    ("+=") => { $crate::syntax::lexer::Op(5) };
    ("-=") => { $crate::syntax::lexer::Op(6) };
    ("*=") => { $crate::syntax::lexer::Op(7) };
    ("/=") => { $crate::syntax::lexer::Op(8) };
    ("%=") => { $crate::syntax::lexer::Op(9) };
    ("&=") => { $crate::syntax::lexer::Op(10) };
    ("|=") => { $crate::syntax::lexer::Op(11) };
    ("^=") => { $crate::syntax::lexer::Op(12) };
    (".=") => { $crate::syntax::lexer::Op(13) };
    ("<<") => { $crate::syntax::lexer::Op(14) };
    (">>") => { $crate::syntax::lexer::Op(15) };
    ("<=") => { $crate::syntax::lexer::Op(16) };
    (">=") => { $crate::syntax::lexer::Op(17) };
    ("==") => { $crate::syntax::lexer::Op(18) };
    ("!=") => { $crate::syntax::lexer::Op(19) };
    ("=~") => { $crate::syntax::lexer::Op(20) };
    ("!~") => { $crate::syntax::lexer::Op(21) };
    ("&&") => { $crate::syntax::lexer::Op(22) };
    ("||") => { $crate::syntax::lexer::Op(23) };
    ("+") => { $crate::syntax::lexer::Op(24) };
    ("-") => { $crate::syntax::lexer::Op(25) };
    ("*") => { $crate::syntax::lexer::Op(26) };
    ("/") => { $crate::syntax::lexer::Op(27) };
    ("%") => { $crate::syntax::lexer::Op(28) };
    ("<") => { $crate::syntax::lexer::Op(29) };
    (">") => { $crate::syntax::lexer::Op(30) };
    ("=") => { $crate::syntax::lexer::Op(31) };
    ("!") => { $crate::syntax::lexer::Op(32) };
    ("~") => { $crate::syntax::lexer::Op(33) };
    ("&") => { $crate::syntax::lexer::Op(34) };
    ("|") => { $crate::syntax::lexer::Op(35) };
    ("^") => { $crate::syntax::lexer::Op(36) };
    (".") => { $crate::syntax::lexer::Op(37) };
    ("?") => { $crate::syntax::lexer::Op(38) };
    (":") => { $crate::syntax::lexer::Op(39) };
    (";") => { $crate::syntax::lexer::Op(40) };
    (",") => { $crate::syntax::lexer::Op(41) };
    ("(") => { $crate::syntax::lexer::Op(42) };
    (")") => { $crate::syntax::lexer::Op(43) };
    ("{") => { $crate::syntax::lexer::Op(44) };
    ("}") => { $crate::syntax::lexer::Op(45) };
    ("[") => { $crate::syntax::lexer::Op(46) };
    ("]") => { $crate::syntax::lexer::Op(47) };
}
pub(crate) use op;

/// The one-byte operators by byte: their `Op` index, or 0xff (a walk of `OPS` comparing
/// strings was 3% of `-p3`'s instructions on a generated script).
static ONE_BYTE_OPS: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < OPS.len() {
        let o = OPS[i].as_bytes();
        if o.len() == 1 {
            t[o[0] as usize] = i as u8;
        }
        i += 1;
    }
    t
};

/// The longest operator at the start of `rest`, and its length. Spelled out byte by byte
/// (a walk of the longer operators in `OPS` took three times the instructions); the
/// `operators` test checks it against `OPS`.
#[inline]
fn op_at(rest: &[u8]) -> Option<(Op, usize)> {
    let at = |i: usize| rest.get(i).copied().unwrap_or(0);
    let first = at(0);
    Some(match (first, at(1)) {
        (b'<', b'<') => match at(2) {
            b'<' => (op!("<<<"), 3),
            b'=' => (op!("<<="), 3),
            _ => (op!("<<"), 2),
        },
        (b'>', b'>') => match at(2) {
            b'=' => (op!(">>="), 3),
            _ => (op!(">>"), 2),
        },
        (b'+', b'+') => (op!("++"), 2),
        (b'-', b'-') => (op!("--"), 2),
        (b'+', b'=') => (op!("+="), 2),
        (b'-', b'=') => (op!("-="), 2),
        (b'*', b'=') => (op!("*="), 2),
        (b'/', b'=') => (op!("/="), 2),
        (b'%', b'=') => (op!("%="), 2),
        (b'&', b'=') => (op!("&="), 2),
        (b'|', b'=') => (op!("|="), 2),
        (b'^', b'=') => (op!("^="), 2),
        (b'.', b'=') => (op!(".="), 2),
        (b'<', b'=') => (op!("<="), 2),
        (b'>', b'=') => (op!(">="), 2),
        (b'=', b'=') => (op!("=="), 2),
        (b'!', b'=') => (op!("!="), 2),
        (b'=', b'~') => (op!("=~"), 2),
        (b'!', b'~') => (op!("!~"), 2),
        (b'&', b'&') => (op!("&&"), 2),
        (b'|', b'|') => (op!("||"), 2),
        _ => match ONE_BYTE_OPS[usize::from(first)] {
            0xff => return None,
            k => (Op(k), 1),
        },
    })
}

/// The one-byte operators that no longer token starts with (`(`, `;`, `,`, ...), by byte:
/// their `Op` index, or 0xff. `next_tok` takes these without a call to `scan`.
static LONE_OPS: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < OPS.len() {
        let o = OPS[i].as_bytes();
        if o.len() == 1 && !starts_longer(o[0]) {
            t[o[0] as usize] = i as u8;
        }
        i += 1;
    }
    t
};

/// Whether some token of more than one byte starts with `c`: a longer operator, a comment
/// (`/`), or a preprocessor or embedded-C delimiter (`%`).
const fn starts_longer(c: u8) -> bool {
    let mut i = 0;
    while i < OPS.len() {
        let o = OPS[i].as_bytes();
        if o.len() > 1 && o[0] == c {
            return true;
        }
        i += 1;
    }
    c == b'/' || c == b'%'
}

/// The bytes that may continue a name or a number, `[A-Za-z0-9_]`.
static WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    t
};

/// Where the run of word bytes from `i` ends.
#[inline(always)]
fn word_end(b: &[u8], i: usize) -> usize {
    match b[i..].iter().position(|&c| !WORD[usize::from(c)]) {
        Some(n) => i + n,
        None => b.len(),
    }
}

/// Largest script the translator accepts; SystemTap scripts are small, and this bounds the work.
pub const MAX_SOURCE_BYTES: usize = 8 << 20;

/// The tokens of one text, one at a time: the parser pulls them (through a small look-ahead)
/// when the text needs no macro or preprocessor pass, so that a large script's tokens are never
/// all held at once. Its diagnostics are kept apart, to be reported before the parser's, as
/// when the whole text is lexed first.
pub struct Stream<'t> {
    file: FileId,
    text: &'t str,
    /// Where `scan` goes on.
    pos: usize,
    /// The bytes of the file that were not UTF-8, each a SUB in `text` (`text.rs`).
    stray: &'t [Stray],
    /// A line break passed since the previous token (or no token yet), for `line_start`.
    newline: bool,
    /// Errors reported before this text: the lexer gives up after 50 in all.
    prior_errors: usize,
    /// The names and strings already read, by a hash of their text, each with its first
    /// bytes packed (`Stream::name`).
    seen: Box<[(u64, Option<Name>); SEEN_SLOTS]>,
    pub diags: Diags,
}

/// Slots in `Stream::seen`: a script's distinct names and strings are a few hundred.
const SEEN_BITS: u32 = 10;
const SEEN_SLOTS: usize = 1 << SEEN_BITS;

impl<'t> Stream<'t> {
    pub fn new(file: FileId, text: &'t str, stray: &'t [Stray], prior_errors: usize) -> Stream<'t> {
        Stream {
            file,
            text,
            pos: 0,
            stray,
            newline: true,
            prior_errors,
            seen: Box::new([(0, None); SEEN_SLOTS]),
            diags: Diags::default(),
        }
    }

    /// The `Name` of a name or string read from the text. Most repeat what the text had
    /// before: remembered by a hash of their bytes, they cost that hash and one comparison,
    /// where `Name::new` takes the run's lock and probes its whole set (that was a tenth of
    /// pass 1's instructions). A slot holds the last name that hashed to it, and that name's
    /// first eight bytes packed into a word: for most names, which are no longer, the word
    /// and the length are the whole comparison (a `memcmp` call was a third of the cost).
    ///
    /// The text from `start` to `end` is read as bytes: a `str` slice would check that both
    /// are character boundaries, which they are (a name is ASCII, and a string's quotes are).
    fn name(&mut self, start: usize, end: usize) -> Name {
        let s = &self.text.as_bytes()[start..end];
        let (head, tail) = s.split_at(s.len().min(8));
        let mut packed = 0u64;
        for &b in head {
            packed = (packed << 8) | u64::from(b);
        }
        let mut h = packed ^ s.len() as u64;
        for &b in tail {
            h = (h.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        // Mixed (the packed bytes of names such as `g1`, `a12` differ in a few low bits, and a
        // single multiplication left twice as many of them sharing a slot), then the top
        // bits, one slot of `SEEN_SLOTS`.
        h = h.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        let at = (h >> (64 - SEEN_BITS)) as usize;
        let slot = &mut self.seen[at];
        match *slot {
            (p, Some(n))
                if p == packed
                    && n.len() == s.len()
                    && (tail.is_empty() || n.as_bytes()[head.len()..] == *tail) =>
            {
                n
            }
            _ => {
                let n = Name::new(&self.text[start..end]);
                *slot = (packed, Some(n));
                n
            }
        }
    }

    /// The next token's kind (`Err` for a character that starts none) and where it ends, and
    /// its start, past blanks and comments; `None` at the end of the text. Written by hand
    /// for the grammar `Raw` gives: a generated automaton, with a decoding pass that then
    /// looked at the token again, took half of the lexer's instructions.
    fn scan(&mut self) -> Option<(Result<Raw, ()>, usize)> {
        let b = self.text.as_bytes();
        let mut i = self.pos;
        loop {
            match *b.get(i)? {
                b'\n' => {
                    self.newline = true;
                    i += 1;
                }
                b' ' | b'\t' | b'\r' | 0x0c => i += 1,
                b'#' => i = line_end(b, i),
                b'/' if b.get(i + 1) == Some(&b'/') => i = line_end(b, i),
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let Some(n) = memchr::memmem::find(&b[i + 2..], b"*/") else {
                        break;
                    };
                    self.newline |= memchr::memchr(b'\n', &b[i + 2..i + 2 + n]).is_some();
                    i += n + 4;
                }
                _ => break,
            }
        }
        let start = i;
        let next = b.get(i + 1).copied();
        let (raw, end) = match b[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => (Raw::Ident, word_end(b, i + 1)),
            b'0'..=b'9' => (Raw::Number, word_end(b, i + 1)),
            b'"' => string_end(b, i + 1),
            // Only one that no `*/` closes gets here.
            b'/' if next == Some(b'*') => (Raw::UnterminatedComment, i + 2),
            c @ (b'$' | b'@') => {
                let dollar = c == b'$';
                match next {
                    Some(b'0'..=b'9') => {
                        let mut e = i + 2;
                        while e < b.len() && b[e].is_ascii_digit() {
                            e += 1;
                        }
                        (if dollar { Raw::DollarArg } else { Raw::AtArg }, e)
                    }
                    Some(b'#') => (
                        if dollar {
                            Raw::DollarCount
                        } else {
                            Raw::AtCount
                        },
                        i + 2,
                    ),
                    Some(b'A'..=b'Z' | b'a'..=b'z' | b'_') => (
                        if dollar { Raw::TargetVar } else { Raw::AtMacro },
                        word_end(b, i + 2),
                    ),
                    _ => return Some(self.bad_char(start)),
                }
            }
            b'%' if next == Some(b'{') => {
                let end = match memchr::memmem::find(&b[i + 2..], b"%}") {
                    Some(n) => i + n + 4,
                    None => b.len(),
                };
                (Raw::Embedded, end)
            }
            b'%' if next == Some(b'(') => (Raw::PpOpen, i + 2),
            b'%' if next == Some(b'?') => (Raw::PpThen, i + 2),
            b'%' if next == Some(b':') => (Raw::PpElse, i + 2),
            b'%' if next == Some(b')') => (Raw::PpClose, i + 2),
            _ => match op_at(&b[i..]) {
                Some((o, n)) => (Raw::Op(o), i + n),
                None => return Some(self.bad_char(start)),
            },
        };
        self.pos = end;
        Some((Ok(raw), start))
    }

    /// The character at `start`, which starts no token: consumed whole.
    #[cold]
    fn bad_char(&mut self, start: usize) -> (Result<Raw, ()>, usize) {
        let len = self.text[start..].chars().next().map_or(1, char::len_utf8);
        self.pos = start + len;
        (Err(()), start)
    }

    /// Reports `what` (a comment, embedded C) left open by the two-byte delimiter at `at`,
    /// which ends the text: everything after it is inside.
    fn unterminated(&mut self, at: usize, what: &str, label: &str) {
        self.diags.push(
            Diag::error(
                codes::LEX_UNTERMINATED,
                Span::new(self.file, at..at + 2),
                format!("unterminated {what}"),
            )
            .label(label),
        );
    }

    /// `Eof`, from the end of the text on (and after an error that stops the lexer).
    fn end(&mut self) -> Tok {
        let end = self.text.len();
        self.pos = end;
        Tok {
            t: T::Eof,
            span: Span::new(self.file, end..end),
            from_arg: None,
            line_start: true,
        }
    }

    /// The next token; `Eof` at the end, and again on every later call.
    ///
    /// Blanks, names and the one-byte operators that start no longer token are most of a
    /// script: they are taken here, each with one test of its first byte, and everything
    /// else by `next_tok_slow` (that chain of tests, and its dispatch on what `scan` found,
    /// were a third of the lexer's instructions).
    #[inline]
    pub fn next_tok(&mut self) -> Tok {
        let b = self.text.as_bytes();
        let mut i = self.pos;
        while let Some(&c) = b.get(i) {
            match c {
                b' ' | b'\t' => i += 1,
                b'\n' => {
                    self.newline = true;
                    i += 1;
                }
                b'A'..=b'Z' | b'a'..=b'z' | b'_' => {
                    let end = word_end(b, i + 1);
                    self.pos = end;
                    let t = T::Ident(self.name(i, end));
                    return self.tok(t, i);
                }
                _ => match LONE_OPS[usize::from(c)] {
                    0xff => break,
                    k => {
                        self.pos = i + 1;
                        return self.tok(T::Op(Op(k)), i);
                    }
                },
            }
        }
        self.pos = i;
        self.next_tok_slow()
    }

    /// The token `t`, from `start` to `pos`.
    #[inline(always)]
    fn tok(&mut self, t: T, start: usize) -> Tok {
        Tok {
            t,
            span: Span::new(self.file, start..self.pos),
            from_arg: None,
            line_start: std::mem::replace(&mut self.newline, false),
        }
    }

    /// `next_tok` for the tokens it does not take itself.
    #[inline(never)]
    fn next_tok_slow(&mut self) -> Tok {
        loop {
            let Some((res, start)) = self.scan() else {
                return self.end();
            };
            // Names and operators, most of the tokens, here; the rest out of line, so that
            // this stays small.
            let t = match res {
                Ok(Raw::Ident) => T::Ident(self.name(start, self.pos)),
                Ok(Raw::Op(o)) => T::Op(o),
                Ok(Raw::Number)
                    if let Some(v) = decimal(&self.text.as_bytes()[start..self.pos]) =>
                {
                    T::Int(v)
                }
                Ok(raw) => match self.decode(raw, start) {
                    Some(t) => t,
                    None => return self.end(),
                },
                Err(()) => {
                    if self.bad_char_reported(start) {
                        return self.end();
                    }
                    continue;
                }
            };
            return self.tok(t, start);
        }
    }

    /// Reports the character at `start`, which starts no token; whether the lexer gives up.
    #[cold]
    #[inline(never)]
    fn bad_char_reported(&mut self, start: usize) -> bool {
        let range = start..self.pos;
        let slice = &self.text[range.clone()];
        let span = Span::new(self.file, range.clone());
        if let Some(b) = stray_at(self.stray, range.start) {
            self.diags.push(not_utf8(span, b));
        } else {
            let c = slice.chars().next().unwrap_or('?');
            let shown = if c.is_control() || !c.is_ascii() {
                format!(
                    "byte 0x{:02x}",
                    slice.as_bytes().first().copied().unwrap_or(0)
                )
            } else {
                format!("`{c}`")
            };
            self.diags.push(
                Diag::error(
                    codes::LEX_BAD_CHAR,
                    span,
                    format!("unexpected character {shown}"),
                )
                .label("not part of any token"),
            );
        }
        self.prior_errors + self.diags.error_count() > 50
    }

    /// The token of any other kind than a name or an operator, from `start` to `pos`; `None`
    /// when it ends the text (reported).
    #[inline(never)]
    fn decode(&mut self, raw: Raw, start: usize) -> Option<T> {
        let file = self.file;
        let range = start..self.pos;
        let slice = &self.text[range.clone()];
        let span = Span::new(file, range.clone());
        Some(match raw {
            Raw::Number => match parse_int(slice) {
                Some(v) => T::Int(v),
                None => {
                    self.diags.push(
                        Diag::error(
                            codes::LEX_BAD_NUMBER,
                            span,
                            format!("invalid number `{slice}`"),
                        )
                        .label("not a 64-bit decimal, hex (0x) or octal (0) integer"),
                    );
                    T::Int(0)
                }
            },
            Raw::Str => {
                let body = &slice[1..slice.len() - 1];
                // Most strings have no escape to decode: interned straight from the text.
                if body.bytes().any(|b| b == b'\\' || b == 0 || b == STRAY) {
                    T::Str(Name::from_string(unescape(
                        body,
                        file,
                        range.start + 1,
                        self.stray,
                        &mut self.diags,
                    )))
                } else {
                    T::Str(self.name(range.start + 1, range.end - 1))
                }
            }
            Raw::UnterminatedStr => {
                self.diags.push(
                    Diag::error(codes::LEX_UNTERMINATED, span, "unterminated string")
                        .label("this string has no closing `\"` on its line"),
                );
                T::Str(Name::new(""))
            }
            Raw::UnterminatedComment => {
                self.unterminated(range.start, "comment", "this `/*` is never closed");
                return None;
            }
            Raw::DollarArg | Raw::AtArg => match slice[1..].parse::<u32>() {
                Ok(n) if n > 0 => {
                    if raw == Raw::DollarArg {
                        T::ArgNum(n)
                    } else {
                        T::ArgStr(n)
                    }
                }
                _ => {
                    self.diags.push(
                        Diag::error(
                            codes::PP_MISSING_ARG,
                            span,
                            format!("invalid argument reference `{slice}`"),
                        )
                        .help("arguments are numbered from 1: $1, @1, ..."),
                    );
                    T::Int(0)
                }
            },
            Raw::DollarCount | Raw::AtCount => T::ArgCount,
            // Reported by pass 2 where it is used: `@defined($x)` and the code it guards may
            // name one.
            Raw::TargetVar => T::TargetVar(Name::new(slice)),
            Raw::AtMacro => match crate::syntax::ast::StatFn::from_name(&slice[1..]) {
                Some(f) => T::AtOp(f),
                None => T::At(Name::new(&slice[1..])),
            },
            Raw::Embedded => {
                if !slice.ends_with("%}") || slice.len() < 4 {
                    self.unterminated(range.start, "embedded C", "this `%{` has no closing `%}`");
                    return None;
                }
                // The C compiler reads UTF-8 (or bytes it passes through): a byte that was
                // not UTF-8 would reach it as SUB.
                if let Some(i) = slice.bytes().position(|b| b == STRAY)
                    && let Some(b) = stray_at(self.stray, range.start + i)
                {
                    let at = Span::new(file, range.start + i..range.start + i + 1);
                    self.diags.push(not_utf8(at, b));
                }
                T::Embedded(Name::new(&slice[2..slice.len() - 2]))
            }
            Raw::PpOpen => T::PpOpen,
            Raw::PpThen => T::PpThen,
            Raw::PpElse => T::PpElse,
            Raw::PpClose => T::PpClose,
            Raw::Ident => T::Ident(self.name(range.start, range.end)),
            Raw::Op(o) => T::Op(o),
        })
    }
}

/// Where the line that `i` is on ends: at its `\n`, or at the end of the text.
fn line_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n)
}

/// The kind and end of the string literal whose text starts at `i`, after its `"`.
fn string_end(b: &[u8], mut i: usize) -> (Raw, usize) {
    loop {
        match b.get(i) {
            None | Some(b'\n') => return (Raw::UnterminatedStr, i),
            Some(b'"') => return (Raw::Str, i + 1),
            // An escape takes the character after the backslash, whatever it is, but not a
            // line break. (It may be the first byte of several: the ones after it are not
            // ASCII, and are stepped over as the string's other bytes are.)
            Some(b'\\') => match b.get(i + 1) {
                None | Some(b'\n') => return (Raw::UnterminatedStr, i + 1),
                Some(_) => i += 2,
            },
            Some(_) => i += 1,
        }
    }
}

/// All the tokens of a text, `Eof` last.
pub fn lex(file: FileId, text: &str, stray: &[Stray], diags: &mut Diags) -> Vec<Tok> {
    // Scripts run about three bytes a token: one allocation instead of a doubling series
    // (capacity never written is never resident).
    let mut out: Vec<Tok> = Vec::with_capacity(text.len() / 3 + 1);
    let mut s = Stream::new(file, text, stray, diags.error_count());
    loop {
        let t = s.next_tok();
        let eof = t.t == T::Eof;
        out.push(t);
        if eof {
            break;
        }
    }
    diags.extend(s.diags);
    out
}

/// A number of up to 18 decimal digits without a leading zero (or `0`), as most are: its
/// value, which fits; else `None`, for `parse_int`.
fn decimal(digits: &[u8]) -> Option<i64> {
    let plain = digits.len() <= 18
        && (digits.first() != Some(&b'0') || digits.len() == 1)
        && digits.iter().all(u8::is_ascii_digit);
    plain.then(|| digits.iter().fold(0, |v, &d| v * 10 + i64::from(d - b'0')))
}

/// Integers as SystemTap reads them: decimal, `0x` hex, leading-`0` octal; all 64-bit, with
/// values up to 2^64-1 accepted and wrapped, as C would.
pub fn parse_int(s: &str) -> Option<i64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok().map(|v| v as i64)
}

/// A byte of the file that is not UTF-8, where only comments and strings may hold one.
fn not_utf8(at: Span, b: u8) -> Diag {
    Diag::error(
        codes::INPUT,
        at,
        format!("byte 0x{b:02x} is not UTF-8 text"),
    )
    .label("not UTF-8")
    .help(
        "outside comments and string literals a script must be UTF-8: re-encode the file \
         (`iconv -f latin1 -t utf-8` for Latin-1)",
    )
}

fn unescape(s: &str, file: FileId, base: usize, stray: &[Stray], diags: &mut Diags) -> String {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // A byte of the file that was not UTF-8 is that byte in the string, as SystemTap
        // (which reads bytes) has it.
        if c == char::from(STRAY)
            && let Some(b) = stray_at(stray, base + i)
        {
            out.push(byte_char(b));
            continue;
        }
        if c == '\0' {
            diags.push(
                Diag::error(
                    codes::LEX_BAD_ESCAPE,
                    Span::new(file, base + i..base + i + 1),
                    "NUL byte in a string",
                )
                .label("strings are NUL-terminated in the module; this would cut it short"),
            );
            continue;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            '?' => out.push('?'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                let mut len = 2;
                for _ in 0..2 {
                    match chars.peek() {
                        Some((_, d)) if d.is_digit(8) => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            len += 1;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                // Three octal digits reach 0777; a byte ends at 0377, as in C.
                if v > 0o377 {
                    let at = Span::new(file, base + i..base + i + len);
                    diags.push(
                        Diag::error(
                            codes::LEX_BAD_ESCAPE,
                            at,
                            format!("octal escape `\\{v:o}` is out of range"),
                        )
                        .label("an escape is one byte: at most \\377")
                        .help(format!(
                            "write `\\{:03o}{}` if you meant a byte followed by a digit",
                            v >> 3,
                            v & 7
                        )),
                    );
                    continue;
                }
                push_byte(&mut out, v, file, base + i, diags);
            }
            'x' => {
                let mut v = 0u32;
                let mut n = 0;
                while let Some((_, d)) = chars.peek() {
                    match d.to_digit(16) {
                        Some(x) if n < 2 => {
                            v = v * 16 + x;
                            n += 1;
                            chars.next();
                        }
                        _ => break,
                    }
                }
                if n == 0 {
                    diags.push(Diag::error(
                        codes::LEX_BAD_ESCAPE,
                        Span::new(file, base + i..base + i + 2),
                        "`\\x` without hex digits",
                    ));
                    continue;
                }
                push_byte(&mut out, v, file, base + i, diags);
            }
            other => {
                diags.push(
                    Diag::error(codes::LEX_BAD_ESCAPE, Span::new(file, base + i..base + i + 1 + other.len_utf8()), format!("unknown escape `\\{other}`"))
                        .help("known escapes: \\n \\t \\r \\a \\b \\f \\v \\\\ \\\" \\' \\? \\NNN (octal) \\xHH"),
                );
            }
        }
    }
    out
}

fn push_byte(out: &mut String, v: u32, file: FileId, at: usize, diags: &mut Diags) {
    if v == 0 {
        diags.push(
            Diag::error(
                codes::LEX_BAD_ESCAPE,
                Span::new(file, at..at + 2),
                "NUL byte in a string",
            )
            .label("strings are NUL-terminated in the module; this would cut it short"),
        );
    } else if v < 0x80 {
        out.push(char::from(v as u8));
    } else {
        // A byte escape >= 0x80 is not text: it is kept as a private-use scalar so that the
        // printers and the C writer can turn it back into that one byte.
        out.push(byte_char(v as u8));
    }
}

/// Where escaped raw bytes >= 0x80 live inside script strings (plane 16 private use).
pub const RAW_BYTE_BASE: u32 = 0x10_FF00;

pub fn byte_char(b: u8) -> char {
    char::from_u32(RAW_BYTE_BASE + u32::from(b)).unwrap_or('?')
}

/// The raw byte a char stands for, if it is one of `byte_char`'s.
pub fn raw_byte(c: char) -> Option<u8> {
    let v = c as u32;
    (RAW_BYTE_BASE..=RAW_BYTE_BASE + 0xff)
        .contains(&v)
        .then(|| (v - RAW_BYTE_BASE) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn operators() {
        // Every operator is found as itself, the one-byte ones included, and nothing else is;
        // `op!` agrees with `OPS`.
        for (i, o) in OPS.iter().enumerate() {
            assert_eq!(op_at(o.as_bytes()), Some((Op(i as u8), o.len())));
            assert_eq!(op_at(o.as_bytes()).map(|(o, _)| o.text()), Some(*o));
        }
        let by_macro = [
            op!("<<<"),
            op!("<<="),
            op!(">>="),
            op!("++"),
            op!("--"),
            op!("+="),
            op!("-="),
            op!("*="),
            op!("/="),
            op!("%="),
            op!("&="),
            op!("|="),
            op!("^="),
            op!(".="),
            op!("<<"),
            op!(">>"),
            op!("<="),
            op!(">="),
            op!("=="),
            op!("!="),
            op!("=~"),
            op!("!~"),
            op!("&&"),
            op!("||"),
            op!("+"),
            op!("-"),
            op!("*"),
            op!("/"),
            op!("%"),
            op!("<"),
            op!(">"),
            op!("="),
            op!("!"),
            op!("~"),
            op!("&"),
            op!("|"),
            op!("^"),
            op!("."),
            op!("?"),
            op!(":"),
            op!(";"),
            op!(","),
            op!("("),
            op!(")"),
            op!("{"),
            op!("}"),
            op!("["),
            op!("]"),
        ];
        assert_eq!(by_macro.len(), OPS.len());
        for (i, o) in by_macro.iter().enumerate() {
            assert_eq!(o.0 as usize, i);
        }
        assert_eq!(op_at(b"@"), None);
        assert_eq!(op_at(b"<<<<"), Some((op!("<<<"), 3)));
    }
    #[test]
    fn numbers() {
        assert_eq!(parse_int("0x10"), Some(16));
        assert_eq!(parse_int("010"), Some(8));
        assert_eq!(parse_int("0"), Some(0));
        assert_eq!(parse_int("18446744073709551615"), Some(-1));
        assert_eq!(parse_int("08"), None);
        assert_eq!(parse_int("12abc"), None);
        // The fast path agrees with `parse_int` where it answers, and leaves the rest to it.
        for s in [
            "0",
            "7",
            "42",
            "999999999999999999",
            "1000000000000000000",
            "010",
            "0x1f",
            "1_0",
        ] {
            if let Some(v) = decimal(s.as_bytes()) {
                assert_eq!(Some(v), parse_int(s), "{s}");
            }
        }
        assert_eq!(
            decimal(b"999999999999999999"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(decimal(b"0"), Some(0));
        assert_eq!(decimal(b"1000000000000000000"), None);
        assert_eq!(decimal(b"010"), None);
        assert_eq!(decimal(b"12abc"), None);
    }
    #[test]
    fn ops_split_greedily() {
        let mut d = Diags::default();
        let toks = lex(FileId(0), "a+=-b<<=c", &[], &mut d);
        let ops: Vec<_> = toks
            .iter()
            .filter_map(|t| {
                if let T::Op(o) = t.t {
                    Some(o.text())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(ops, vec!["+=", "-", "<<="]);
        assert!(!d.has_errors());
    }

    /// The grammar of `Raw` as logos reads it (longest match, a character that starts no
    /// token an error of its own), which the lexer followed before `Stream::scan`.
    #[derive(logos::Logos, Debug, Clone, Copy, PartialEq, Eq)]
    #[logos(skip r"[ \t\r\n\f]+")]
    #[logos(skip(r"#[^\n]*", allow_greedy = true))]
    #[logos(skip(r"//[^\n]*", allow_greedy = true))]
    #[logos(skip r"/\*([^*]|\*+[^*/])*\*+/")]
    enum Grammar {
        #[regex(r"[A-Za-z_][A-Za-z0-9_]*")]
        Ident,
        #[regex(r"[0-9][0-9A-Za-z_]*")]
        Number,
        #[regex(r#""([^"\\\n]|\\[^\n])*""#)]
        Str,
        #[regex(r#""([^"\\\n]|\\[^\n])*\\?"#)]
        UnterminatedStr,
        #[token("/*")]
        UnterminatedComment,
        #[regex(r"\$[0-9]+")]
        DollarArg,
        #[regex(r"@[0-9]+")]
        AtArg,
        #[token("$#")]
        DollarCount,
        #[token("@#")]
        AtCount,
        #[regex(r"\$[A-Za-z_][A-Za-z0-9_]*")]
        TargetVar,
        #[regex(r"@[A-Za-z_][A-Za-z0-9_]*")]
        AtMacro,
        #[token("%{", |lex| {
            let n = lex.remainder().find("%}").map_or(lex.remainder().len(), |i| i + 2);
            lex.bump(n);
        })]
        Embedded,
        #[token("%(")]
        PpOpen,
        #[token("%?")]
        PpThen,
        #[token("%:")]
        PpElse,
        #[token("%)")]
        PpClose,
        #[regex(
            r"<<<|<<=|>>=|\+\+|--|\+=|-=|\*=|/=|%=|&=|\|=|\^=|\.=|<<|>>|<=|>=|==|!=|=~|!~|&&|\|\|"
        )]
        #[regex(r"[-+*/%<>=!~&|^.?:;,()\[\]{}]")]
        Op,
    }

    /// What `Grammar` finds in `text`: each token's kind (the operator's text for one) and
    /// range, and whether a line break comes before it.
    fn by_grammar(text: &str) -> Vec<(String, std::ops::Range<usize>, bool)> {
        use logos::Logos;
        let mut out = vec![];
        let mut lex = Grammar::lexer(text);
        let mut prev_end = 0;
        while let Some(r) = lex.next() {
            let kind = match r {
                Ok(Grammar::Op) => lex.slice().to_string(),
                Ok(g) => format!("{g:?}"),
                Err(()) => "Err".to_string(),
            };
            let nl = out.is_empty() || text[prev_end..lex.span().start].contains('\n');
            prev_end = lex.span().end;
            out.push((kind, lex.span(), nl));
        }
        out
    }

    /// The same from `Stream::scan`.
    fn by_scan(text: &str) -> Vec<(String, std::ops::Range<usize>, bool)> {
        let mut out = vec![];
        let mut s = Stream::new(FileId(0), text, &[], 0);
        while let Some((r, start)) = s.scan() {
            let kind = match r {
                Ok(Raw::Op(o)) => o.text().to_string(),
                Ok(r) => format!("{r:?}"),
                Err(()) => "Err".to_string(),
            };
            out.push((kind, start..s.pos, std::mem::replace(&mut s.newline, false)));
            if r == Ok(Raw::UnterminatedComment) {
                // The stream ends there; logos reads on, as the old lexer did not.
                break;
            }
        }
        out
    }

    #[test]
    fn scan_follows_the_grammar() {
        const PIECES: &[&str] = &[
            "a", "Z", "_", "x1", "0", "9", "0x", " ", "\t", "\r", "\n", "\x0c", "\x0b", "\"", "\\",
            "#", "/", "*", "$", "@", "%", "{", "}", "(", ")", "?", ":", ";", ",", "[", "]", "<",
            ">", "=", "!", "~", "&", "|", "^", ".", "+", "-", "`", "'", "\u{e9}", "\u{20ac}",
            "\x1a", "\0", "/*", "*/", "%{", "%}", "<<<", "//",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = rand() % 24;
            let text: String = (0..len)
                .map(|_| PIECES[(rand() % PIECES.len() as u64) as usize])
                .collect();
            let want = by_grammar(&text);
            let got = by_scan(&text);
            assert_eq!(got[..], want[..got.len()], "{text:?}");
            if got.len() < want.len() {
                assert_eq!(
                    got.last().map(|g| g.0.as_str()),
                    Some("UnterminatedComment")
                );
            }
        }
    }
}
