//! Where pass 3's text goes as it is written: a `String` (pass 4 hashes and writes the C) or a
//! byte stream (stdout for `-p3`), both through `LineReset`, so that `-p3` prints the very bytes
//! pass 4 builds. The C of a large script is tens of megabytes: it goes out in the parts `emit`
//! writes in turn, never gathered into one more copy.
//!
//! `LineReset` also gives the generated file its own numbering back after embedded C: embedded C
//! carries a `#line` pointing at the script, and `emit` writes a `#line STP_RESET` placeholder
//! after it, which becomes `#line N "NAME.c"` here, N counted from the lines already written.

use super::writer::c_string;
use std::io;

/// A destination for text.
pub trait Out {
    fn put(&mut self, s: &str) -> io::Result<()>;
}

impl Out for String {
    fn put(&mut self, s: &str) -> io::Result<()> {
        self.push_str(s);
        Ok(())
    }
}

/// Text as bytes into any writer (stdout through a `BufWriter` for `-p3`).
pub struct Bytes<W: io::Write>(pub W);

impl<W: io::Write> Out for Bytes<W> {
    fn put(&mut self, s: &str) -> io::Result<()> {
        self.0.write_all(s.as_bytes())
    }
}

/// Placeholder written on a line of its own after embedded C (which carries its own `#line`).
pub const LINE_RESET: &str = "#line STP_RESET\n";
const PLACEHOLDER: &str = "#line STP_RESET";

/// Passes text on to `out` as `lines()` reads it (a `\r\n` ends a line as `\n` does and is
/// written as `\n`; the last line gets its newline at `finish`), turning each placeholder that
/// stands on a line of its own into the `#line` of the line after it. Text may arrive in pieces
/// of any size: a piece's unfinished last line waits in `carry` for the rest of it.
pub struct LineReset<'o, O: Out + ?Sized> {
    out: &'o mut O,
    /// The generated file's name as a C string literal.
    file: String,
    /// Newlines written so far.
    lines: usize,
    /// The start of a line not yet ended.
    carry: String,
    /// Whether what was written so far ends a line (nothing written counts as ended).
    ended: bool,
    finder: memchr::memmem::Finder<'static>,
}

impl<'o, O: Out + ?Sized> LineReset<'o, O> {
    pub fn new(out: &'o mut O, file: &str) -> Self {
        LineReset {
            out,
            file: c_string(file),
            lines: 0,
            carry: String::new(),
            ended: true,
            finder: memchr::memmem::Finder::new(PLACEHOLDER),
        }
    }

    pub fn put(&mut self, mut text: &str) -> io::Result<()> {
        if !self.carry.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', text.as_bytes()) else {
                self.carry.push_str(text);
                return Ok(());
            };
            let mut line = std::mem::take(&mut self.carry);
            line.push_str(&text[..=nl]);
            text = &text[nl + 1..];
            let r = self.lines_out(&line);
            // The buffer is kept for the next unfinished line.
            line.clear();
            self.carry = line;
            r?;
        }
        let whole = match memchr::memrchr(b'\n', text.as_bytes()) {
            Some(nl) => nl + 1,
            None => 0,
        };
        self.carry.push_str(&text[whole..]);
        self.lines_out(&text[..whole])
    }

    /// `put` of text that holds no placeholder and no `\r` (declarations pass 3 writes
    /// itself, with no embedded C): its newlines are counted, without the search for
    /// placeholders, a third of what `put` costs per byte.
    pub fn put_plain(&mut self, text: &str) -> io::Result<()> {
        if !self.carry.is_empty() {
            return self.put(text);
        }
        let whole = match memchr::memrchr(b'\n', text.as_bytes()) {
            Some(nl) => nl + 1,
            None => 0,
        };
        self.carry.push_str(&text[whole..]);
        self.write(&text[..whole])
    }

    /// Ends the text: its last line, with a newline if it has none.
    pub fn finish(mut self) -> io::Result<()> {
        let last = std::mem::take(&mut self.carry);
        self.lines_out(&last)?;
        if !self.ended {
            self.write("\n")?;
        }
        Ok(())
    }

    /// Whole lines (or, from `finish`, the last line without its newline).
    fn lines_out(&mut self, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return Ok(());
        }
        // Only embedded C from a file with DOS line ends has a `\r`.
        let text = if memchr::memchr(b'\r', text.as_bytes()).is_some() {
            std::borrow::Cow::Owned(text.replace("\r\n", "\n"))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let bytes = text.as_bytes();
        let (mut copied, mut from) = (0, 0);
        while let Some(i) = self.finder.find(&bytes[from..]) {
            let at = from + i;
            let end = at + PLACEHOLDER.len();
            let own_line =
                (at == 0 || bytes[at - 1] == b'\n') && (end == bytes.len() || bytes[end] == b'\n');
            from = at + 1;
            if !own_line {
                continue;
            }
            self.write(&text[copied..at])?;
            // The placeholder's line is `lines + 1`: the `#line` names the one after it.
            let reset = format!("#line {} {}\n", self.lines + 2, self.file);
            self.write(&reset)?;
            copied = (end + 1).min(bytes.len());
            from = copied;
        }
        self.write(&text[copied..])
    }

    fn write(&mut self, s: &str) -> io::Result<()> {
        if s.is_empty() {
            return Ok(());
        }
        self.lines += memchr::memchr_iter(b'\n', s.as_bytes()).count();
        self.ended = s.ends_with('\n');
        self.out.put(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reset_lines(text: &str, file: &str) -> String {
        let mut out = String::new();
        let mut r = LineReset::new(&mut out, file);
        r.put(text).unwrap();
        r.finish().unwrap();
        out
    }

    /// Each placeholder on a line of its own becomes the `#line` of the line after it; the rest
    /// reads as `lines()` does (`\r\n` ends a line, the last line gets its newline).
    #[test]
    fn reset_lines_numbers_the_following_line() {
        let f = "m.c";
        assert_eq!(reset_lines("", f), "");
        assert_eq!(reset_lines("a\nb", f), "a\nb\n");
        assert_eq!(
            reset_lines("a\n#line STP_RESET\nb\n#line STP_RESET\n", f),
            "a\n#line 3 \"m.c\"\nb\n#line 5 \"m.c\"\n"
        );
        assert_eq!(
            reset_lines("#line STP_RESET\r\nx #line STP_RESET\n\n#line STP_RESET", f),
            "#line 2 \"m.c\"\nx #line STP_RESET\n\n#line 5 \"m.c\"\n"
        );
        assert_eq!(reset_lines("a\r\nb\rc\r\n", f), "a\nb\rc\n");
        assert_eq!(reset_lines("a\r", f), "a\r\n");
    }

    /// The text cut into pieces anywhere (inside a placeholder, between `\r` and `\n`) comes
    /// out as it does in one piece.
    #[test]
    fn pieces_read_as_the_whole() {
        let f = "m.c";
        for text in [
            "a\n#line STP_RESET\nb\n#line STP_RESET\n",
            "#line STP_RESET\r\nx #line STP_RESET\n\n#line STP_RESET",
            "a\r\nb\rc\r\n",
            "é\n#line STP_RESET\n\n\nz",
        ] {
            let whole = reset_lines(text, f);
            let cuts: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for &i in &cuts {
                for &j in cuts.iter().filter(|&&j| j >= i) {
                    let mut out = String::new();
                    let mut r = LineReset::new(&mut out, f);
                    for piece in [&text[..i], &text[i..j], &text[j..]] {
                        r.put(piece).unwrap();
                    }
                    r.finish().unwrap();
                    assert_eq!(out, whole, "{text:?} cut at {i} and {j}");
                }
            }
        }
    }

    /// Plain text reads as `put` reads it, whole or in pieces, around text that is not plain.
    #[test]
    fn plain_pieces_read_as_put() {
        let f = "m.c";
        let pieces = ["a\nb", "c\n", "#line STP_RESET\n", "d\ne\n", "f"];
        let plain = [true, true, false, true, true];
        let mut whole = String::new();
        for p in pieces {
            whole.push_str(p);
        }
        let mut out = String::new();
        let mut r = LineReset::new(&mut out, f);
        for (p, is_plain) in pieces.iter().zip(plain) {
            if is_plain {
                r.put_plain(p).unwrap();
            } else {
                r.put(p).unwrap();
            }
        }
        r.finish().unwrap();
        assert_eq!(out, reset_lines(&whole, f));
    }

    /// A write error reaches the caller.
    #[test]
    fn write_errors_are_returned() {
        struct Full;
        impl io::Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = Bytes(Full);
        let mut r = LineReset::new(&mut out, "m.c");
        let e = r.put("a\n").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
