//! A small C writer: lines at an indent level, braces that open and close it, and the escaping
//! of script strings into C literals. Every generated line goes through it.

use std::fmt::{self, Write};

#[derive(Default)]
pub struct CWriter {
    out: String,
    indent: usize,
}

impl CWriter {
    pub fn new(indent: usize) -> CWriter {
        CWriter {
            out: String::new(),
            indent,
        }
    }
    /// A writer that goes on after `text` (at indent 0), or, for a body, that writes into a
    /// buffer handed from body to body (`text` emptied first) rather than growing a new one.
    pub fn after(text: String) -> CWriter {
        CWriter {
            out: text,
            indent: 0,
        }
    }
    pub fn reusing(mut buf: String, indent: usize) -> CWriter {
        buf.clear();
        CWriter { out: buf, indent }
    }
    pub fn text(&self) -> &str {
        &self.out
    }
    /// Empties the buffer (its text went out), keeping its room and the indent.
    pub fn clear(&mut self) {
        self.out.clear();
    }
    /// The text so far, taken out; the writer goes on (at its indent) in a new buffer with
    /// room for `room` bytes.
    pub fn take_text(&mut self, room: usize) -> String {
        std::mem::replace(&mut self.out, String::with_capacity(room))
    }
    /// Always inlined, as `line_pieces` is: a literal line is then copied by a few moves.
    #[inline(always)]
    pub fn line(&mut self, s: impl AsRef<str>) {
        let s = s.as_ref();
        if s.is_empty() {
            self.out.push('\n');
            return;
        }
        self.indent_here();
        self.out.push_str(s);
        self.out.push('\n');
    }
    /// A line formatted straight into the output (`w.line_fmt(format_args!(...))`), for the
    /// few lines that need a format spec (`{:#x}`); the rest are `cline!`. Like `line`, a line
    /// that comes out empty gets no indentation.
    pub fn line_fmt(&mut self, args: fmt::Arguments) {
        self.line_pieces(&(&args,));
    }
    /// A line from text pieces already in a slice (`line_pieces` of them).
    pub fn line_of(&mut self, pieces: &[&str]) {
        self.line_pieces(pieces);
    }
    /// A line from pieces of any kind (`cline!` builds the list): text, numbers, temporaries.
    /// What `line_fmt` writes, at a fraction of its cost: no format string to walk, no padding
    /// checks per argument. Like `line`, a line that comes out empty gets no indentation.
    /// Always inlined, with the pieces' `put_all` and `put`: where `cline!` is used, each
    /// text piece's length is then a constant, and its copy a few moves instead of a call to
    /// memcpy (7% fewer instructions in pass 3).
    #[inline(always)]
    pub fn line_pieces<P: Pieces + ?Sized>(&mut self, pieces: &P) {
        let start = self.out.len();
        self.indent_here();
        let text = self.out.len();
        pieces.put_all(&mut self.out);
        if self.out.len() == text {
            self.out.truncate(start);
        }
        self.out.push('\n');
    }
    /// `open` with the head from pieces (`copen!`).
    pub fn open_pieces<P: Pieces + ?Sized>(&mut self, pieces: &P) {
        let start = self.out.len();
        self.indent_here();
        let text = self.out.len();
        pieces.put_all(&mut self.out);
        if self.out.len() > text {
            self.out.push(' ');
        } else {
            self.out.truncate(start);
            self.indent_here();
        }
        self.out.push_str("{\n");
        self.indent += 1;
    }
    fn indent_here(&mut self) {
        const TABS: &str = "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t";
        // Most lines stand one to three levels in: a byte at a time is cheaper there than
        // a copy of a slice (a call to memcpy per line).
        if self.indent <= 3 {
            for _ in 0..self.indent {
                self.out.push('\t');
            }
            return;
        }
        let mut n = self.indent;
        while n > 0 {
            let k = n.min(TABS.len());
            self.out.push_str(&TABS[..k]);
            n -= k;
        }
    }
    /// `head {` and one level deeper.
    pub fn open(&mut self, head: impl AsRef<str>) {
        let h = head.as_ref();
        self.indent_here();
        if !h.is_empty() {
            self.out.push_str(h);
            self.out.push(' ');
        }
        self.out.push_str("{\n");
        self.indent += 1;
    }
    /// `open` with the head formatted in place.
    pub fn open_fmt(&mut self, head: fmt::Arguments) {
        self.open_pieces(&(&head,));
    }
    pub fn close(&mut self) {
        self.indent -= 1;
        self.line("}");
    }
    /// `};`: the end of a struct, union or initializer.
    pub fn close_semi(&mut self) {
        self.indent -= 1;
        self.line("};");
    }
    /// `}` followed by the rest of the line (`} name = { ... };`).
    pub fn close_with(&mut self, rest: impl AsRef<str>) {
        self.indent -= 1;
        self.line_fmt(format_args!("}}{}", rest.as_ref()));
    }
    /// `} else {` between two branches.
    pub fn reopen(&mut self, mid: &str) {
        self.indent -= 1;
        self.line_fmt(format_args!("}} {mid} {{"));
        self.indent += 1;
    }
    /// A label, one level out, as kernel style writes them.
    pub fn label(&mut self, l: &str) {
        let ind = self.indent.saturating_sub(1);
        for _ in 0..ind {
            self.out.push('\t');
        }
        let _ = writeln!(self.out, "{l}:");
    }
    pub fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }
    pub fn finish(self) -> String {
        self.out
    }
}

/// Something a generated line is written from, appended as it reads: what `{}` would give.
pub trait Piece {
    fn put(&self, out: &mut String);
}
impl Piece for str {
    #[inline(always)]
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}
impl Piece for String {
    fn put(&self, out: &mut String) {
        out.push_str(self);
    }
}
impl Piece for char {
    fn put(&self, out: &mut String) {
        out.push(*self);
    }
}
impl<T: Piece + ?Sized> Piece for &T {
    #[inline(always)]
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}
impl<T: Piece + ?Sized> Piece for &mut T {
    fn put(&self, out: &mut String) {
        (**self).put(out);
    }
}
impl Piece for fmt::Arguments<'_> {
    fn put(&self, out: &mut String) {
        let _ = out.write_fmt(*self);
    }
}
/// The unsigned integers, in decimal.
macro_rules! unsigned_pieces {
    ($($t:ty),*) => {$(
        impl Piece for $t {
            fn put(&self, out: &mut String) {
                push_u64(out, *self as u64);
            }
        }
    )*};
}
unsigned_pieces!(u8, u16, u32, u64, usize);
impl Piece for bool {
    fn put(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}
impl Piece for i64 {
    fn put(&self, out: &mut String) {
        if *self < 0 {
            out.push('-');
        }
        push_u64(out, self.unsigned_abs());
    }
}
impl Piece for i32 {
    fn put(&self, out: &mut String) {
        i64::from(*self).put(out);
    }
}

/// A line's pieces in order: a tuple of references to `Piece`s, as `cline!` builds it.
pub trait Pieces {
    fn put_all(&self, out: &mut String);
}
impl Pieces for () {
    fn put_all(&self, _: &mut String) {}
}
/// Text pieces in a slice (`line_of`).
impl Pieces for [&str] {
    fn put_all(&self, out: &mut String) {
        for p in self {
            out.push_str(p);
        }
    }
}
macro_rules! tuple_pieces {
    ($($i:tt $t:ident),*) => {
        impl<$($t: Piece + ?Sized),*> Pieces for ($(&$t,)*) {
            #[inline(always)]
            fn put_all(&self, out: &mut String) {
                $(self.$i.put(out);)*
            }
        }
    };
}
tuple_pieces!(0 T0);
tuple_pieces!(0 T0, 1 T1);
tuple_pieces!(0 T0, 1 T1, 2 T2);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25, 26 T26);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25, 26 T26, 27 T27);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25, 26 T26, 27 T27, 28 T28);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25, 26 T26, 27 T27, 28 T28, 29 T29);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25, 26 T26, 27 T27, 28 T28, 29 T29, 30 T30);
tuple_pieces!(0 T0, 1 T1, 2 T2, 3 T3, 4 T4, 5 T5, 6 T6, 7 T7, 8 T8, 9 T9, 10 T10, 11 T11, 12 T12, 13 T13, 14 T14, 15 T15, 16 T16, 17 T17, 18 T18, 19 T19, 20 T20, 21 T21, 22 T22, 23 T23, 24 T24, 25 T25, 26 T26, 27 T27, 28 T28, 29 T29, 30 T30, 31 T31);

/// `n` in decimal, as `{}` writes it, two digits at a time from a table: no buffer to check
/// as UTF-8 and no character-at-a-time pushes (a number stands on most generated lines).
pub fn push_u64(out: &mut String, n: u64) {
    const PAIRS: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    if n < 10 {
        out.push(char::from(b'0' + n as u8));
    } else if n < 100 {
        let i = 2 * n as usize;
        out.push_str(&PAIRS[i..i + 2]);
    } else {
        push_u64(out, n / 100);
        let i = 2 * (n % 100) as usize;
        out.push_str(&PAIRS[i..i + 2]);
    }
}

/// `cline!(w; a, b, ...)`: `w.line_pieces` of the pieces, each anything `Piece` (text, numbers,
/// temporaries), in order. The pieces are evaluated (into a tuple of references) before `w`
/// is borrowed; each is written by its own type's `put`, with no virtual call.
macro_rules! cline {
    ($w:expr; $($p:expr),* $(,)?) => {{
        let pieces = ($(&$p,)*);
        $w.line_pieces(&pieces);
    }};
}
/// `copen!(w; a, b, ...)`: `w.open_pieces`, as `cline!`.
macro_rules! copen {
    ($w:expr; $($p:expr),* $(,)?) => {{
        let pieces = ($(&$p,)*);
        $w.open_pieces(&pieces);
    }};
}
pub(crate) use {cline, copen};

/// A script string as a C string literal. Non-ASCII text is written as UTF-8 octal escapes,
/// `?` is escaped against trigraphs, and nothing a script contains can end the literal early.
pub fn c_string(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    push_c_string(&mut o, s);
    o
}

/// `c_string` of a text, as a `Piece`: written where the line uses it, with no String of
/// its own.
#[derive(Clone, Copy)]
pub struct CLit<'a>(pub &'a str);
impl Piece for CLit<'_> {
    fn put(&self, out: &mut String) {
        push_c_string(out, self.0);
    }
}

/// `c_string`, appended to `o`.
pub fn push_c_string(o: &mut String, s: &str) {
    push_c_string_of(o, &[s]);
}

/// `c_string` of the parts joined, appended to `o`, without joining them first.
pub fn push_c_string_of(o: &mut String, parts: &[&str]) {
    o.push('"');
    for s in parts {
        push_escaped(o, s);
    }
    o.push('"');
}

/// The bytes a C string literal holds as they are: printable ASCII but `"`, `\` and `?`.
/// A table, as `IDENT` is.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = (c.is_ascii_graphic() || c == b' ') && !matches!(c, b'"' | b'\\' | b'?');
        b += 1;
    }
    t
};

/// The inside of `c_string(s)`, appended to `o`.
fn push_escaped(o: &mut String, s: &str) {
    // Most script strings (and every source location) need no escape: copy the run of
    // plain characters at once, escaping char by char only from the first other one.
    let plain = s
        .bytes()
        .position(|b| !PLAIN[usize::from(b)])
        .unwrap_or(s.len());
    o.push_str(&s[..plain]);
    let mut buf = [0u8; 4];
    for ch in s[plain..].chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '?' => o.push_str("\\?"),
            c if c.is_ascii() && !c.is_ascii_control() => o.push(c),
            c => {
                // Bytes escaped in the script (`\377`) arrive as private-use chars.
                let bytes: &[u8] = if let Some(b) = crate::syntax::lexer::raw_byte(c) {
                    buf[0] = b;
                    &buf[..1]
                } else {
                    c.encode_utf8(&mut buf).as_bytes()
                };
                for b in bytes {
                    let _ = write!(o, "\\{b:03o}");
                }
            }
        }
    }
}

/// Text safe inside a C block comment, on one line: nothing can end the comment (`*/`),
/// open a nested one (`/*`, which gcc's -Wcomment turns into a build error under -Werror)
/// or continue it onto the next line; control characters become spaces.
pub fn c_comment(s: &str) -> String {
    // Room for a place's `:LINE:COL` after it (`comment_where`).
    let mut o = String::with_capacity(s.len() + 24);
    // Most text (every probe point) is printable ASCII with no `*/` or `/*`: copied at
    // once, where a char at a time cost several times as much.
    let mut prev = b' ';
    let plain = s.bytes().all(|b| {
        let ok = (b' '..0x7f).contains(&b) && !matches!((prev, b), (b'*', b'/') | (b'/', b'*'));
        prev = b;
        ok
    });
    if plain {
        o.push_str(s);
        return o;
    }
    let mut prev = ' ';
    for ch in s.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if matches!((prev, ch), ('*', '/') | ('/', '*')) {
            o.push(' ');
        }
        o.push(ch);
        prev = ch;
    }
    o
}

/// A name from the script as (part of) a C identifier. Script identifiers are already
/// `[A-Za-z_][A-Za-z0-9_]*`, and the namer prefixes them, so this is the identity on every
/// name a front end accepts; anything else is spelled out (`_xHH_` per byte) rather than
/// trusted, so that no text can ever reach C as code through a name.
pub fn c_ident(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    push_ident(&mut o, s);
    o
}

/// The bytes an identifier may hold as they are (`[A-Za-z0-9_]`), as a table: a look-up per
/// byte where the tests were a chain of comparisons, on every name pass 3 writes.
const IDENT: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || c == b'_';
        b += 1;
    }
    t
};

/// `c_ident`, appended to `o`.
pub fn push_ident(o: &mut String, s: &str) {
    if s.bytes().all(|b| IDENT[usize::from(b)]) {
        o.push_str(s);
        return;
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            o.push(b as char);
        } else {
            let _ = write!(o, "_x{b:02x}_");
        }
    }
}

/// A script integer as a C constant of type `long long` (`int64_t` on every kernel target).
/// INT64_MIN has no literal: `-9223372036854775808` is minus a constant too large for
/// `long long`, which gcc warns about (an error under -Werror), so it is written as an
/// expression.
pub fn c_long(v: i64) -> String {
    let mut o = String::new();
    push_long(&mut o, v);
    o
}

/// `c_long`, appended to `o`.
pub fn push_long(o: &mut String, v: i64) {
    if v == i64::MIN {
        o.push_str("(-9223372036854775807LL - 1)");
    } else {
        Piece::put(&v, o);
        o.push_str("LL");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn strings() {
        assert_eq!(c_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(c_string("??="), "\"\\?\\?=\"");
        assert_eq!(c_string("é"), "\"\\303\\251\"");
        assert_eq!(
            c_string(&crate::syntax::lexer::byte_char(0xff).to_string()),
            "\"\\377\""
        );
        assert_eq!(c_string("\x01"), "\"\\001\"");
    }
    #[test]
    fn comments() {
        assert_eq!(c_comment("a */ b"), "a * / b");
        assert_eq!(c_comment("a /* b"), "a / * b");
        assert_eq!(c_comment("/*/"), "/ * /");
        assert_eq!(c_comment("*//*"), "* // *");
        assert_eq!(c_comment("x\ny\r\0z\\"), "x y  z\\");
    }
    #[test]
    fn identifiers() {
        assert_eq!(c_ident("count_2"), "count_2");
        assert_eq!(c_ident("a-b"), "a_x2d_b");
        assert_eq!(c_ident("x; y"), "x_x3b__x20_y");
    }
    #[test]
    fn lines_of_pieces_read_as_formatted_lines() {
        let mut a = CWriter::new(2);
        let mut b = CWriter::new(2);
        a.line_of(&["int64_t ", "t3", ";"]);
        b.line_fmt(format_args!("int64_t {};", "t3"));
        a.line_of(&["", ""]);
        b.line_fmt(format_args!("{}", ""));
        assert_eq!(a.text(), b.text());
        assert_eq!(a.text(), "\t\tint64_t t3;\n\n");
        let mut deep = CWriter::new(20);
        deep.line("x");
        assert_eq!(deep.text(), format!("{}x\n", "\t".repeat(20)));
    }
    #[test]
    fn pieces_read_as_formatted() {
        let mut a = CWriter::new(1);
        let mut b = CWriter::new(1);
        for v in [0i64, 7, -7, i64::MAX, i64::MIN + 1, i64::MIN] {
            cline!(a; "x = ", v, ", ", v.unsigned_abs(), " ", 'c', String::from("s"), ";");
            b.line_fmt(format_args!(
                "x = {v}, {} {}{};",
                v.unsigned_abs(),
                'c',
                "s"
            ));
        }
        for n in [0u64, 9, 10, 99, 100, 101, 1000, 12345, u64::MAX] {
            cline!(a; n);
            b.line_fmt(format_args!("{n}"));
        }
        cline!(a; "", String::new());
        b.line_fmt(format_args!("{}", ""));
        copen!(a; "if (", 3usize, ")");
        b.open_fmt(format_args!("if ({})", 3usize));
        copen!(a; "");
        b.open_fmt(format_args!(""));
        assert_eq!(a.text(), b.text());
    }
    #[test]
    fn longs() {
        assert_eq!(c_long(0), "0LL");
        assert_eq!(c_long(-5), "-5LL");
        assert_eq!(c_long(i64::MAX), "9223372036854775807LL");
        assert_eq!(c_long(i64::MIN), "(-9223372036854775807LL - 1)");
    }
}
