//! The loader's output stream: the module's `out` bytes split by line into stdout (or the `-o`
//! file), stderr (`ERROR: `, `WARNING: `, and `NOTE: ` with `-v`) and `system()` requests,
//! written through as they come unless they could still be the start of such a prefix.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Where the stream goes.
pub struct Output {
    out: Box<dyn Write>,
    err: io::Stderr,
}

impl Output {
    pub fn new(path: Option<&Path>) -> Result<Output, String> {
        let out: Box<dyn Write> = match path {
            Some(p) => Box::new(
                File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?,
            ),
            None => Box::new(io::stdout()),
        };
        Ok(Output {
            out,
            err: io::stderr(),
        })
    }
}

const PREFIXES: [&[u8]; 4] = [
    b"ERROR: ",
    b"WARNING: ",
    b"NOTE: ",
    super::services::SYSTEM_PREFIX,
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dest {
    Out,
    Err,
    /// A `NOTE: ` line without `-v`.
    Drop,
    /// A `system()` request: the command, collected up to its newline, then run.
    System,
}

/// Splits the stream into lines: `ERROR: `/`WARNING: ` lines to stderr, `NOTE: ` lines to
/// stderr with `-v` (dropped otherwise), `system()` requests run, the rest to stdout.
#[derive(Default)]
pub struct Splitter {
    verbose: bool,
    /// The start of the current line while its destination is undecided (a prefix of one of
    /// `PREFIXES`).
    pending: Vec<u8>,
    /// The current line's destination once decided.
    dest: Option<Dest>,
    pub saw_error: bool,
    /// The `system()` request being read (the line after its prefix).
    command: Vec<u8>,
}

impl Splitter {
    /// A splitter for a new stream; `verbose` shows `NOTE: ` lines.
    pub fn new(verbose: bool) -> Splitter {
        Splitter {
            verbose,
            ..Default::default()
        }
    }

    pub fn feed(&mut self, mut data: &[u8], o: &mut Output) -> io::Result<()> {
        let mut res_out = Ok(());
        let mut res_err = Ok(());
        let mut wrote_out = false;
        let mut wrote_err = false;
        while !data.is_empty() {
            if self.dest.is_none() {
                // Grow the undecided line start byte by byte until it is decided.
                while self.dest.is_none() && !data.is_empty() {
                    let b = data[0];
                    data = &data[1..];
                    self.pending.push(b);
                    self.dest = self.decide(b == b'\n');
                }
                let Some(d) = self.dest else { break };
                let p = std::mem::take(&mut self.pending);
                if d == Dest::System {
                    self.command_bytes(&p, o);
                    continue;
                }
                Self::put(
                    d,
                    &p,
                    o,
                    &mut res_out,
                    &mut res_err,
                    &mut wrote_out,
                    &mut wrote_err,
                );
                if p.last() == Some(&b'\n') {
                    self.dest = None;
                }
                continue;
            }
            let d = self.dest.unwrap();
            let (chunk, rest, eol) = match data.iter().position(|&b| b == b'\n') {
                Some(i) => (&data[..=i], &data[i + 1..], true),
                None => (data, &data[data.len()..], false),
            };
            if d == Dest::System {
                self.command_bytes(chunk, o);
                data = rest;
                continue;
            }
            Self::put(
                d,
                chunk,
                o,
                &mut res_out,
                &mut res_err,
                &mut wrote_out,
                &mut wrote_err,
            );
            data = rest;
            if eol {
                self.dest = None;
            }
        }
        if wrote_out && let Err(e) = o.out.flush() {
            res_out = res_out.and(Err(e));
        }
        if wrote_err {
            let _ = o.err.flush();
        }
        let _ = res_err;
        res_out
    }

    /// Part of a `system()` request line (its prefix included at first); at its newline the
    /// command runs and the next line starts.
    fn command_bytes(&mut self, bytes: &[u8], o: &mut Output) {
        self.command.extend_from_slice(bytes);
        if self.command.last() == Some(&b'\n') {
            let line = std::mem::take(&mut self.command);
            let cmd = &line[super::services::SYSTEM_PREFIX.len()..line.len() - 1];
            super::services::run_system(cmd, &mut o.out);
            self.dest = None;
        }
    }

    /// The destination of the line started in `pending`, None while undecided.
    fn decide(&mut self, line_ended: bool) -> Option<Dest> {
        let p = &self.pending[..];
        for pre in PREFIXES {
            if p.starts_with(pre) {
                if pre == super::services::SYSTEM_PREFIX {
                    return Some(Dest::System);
                }
                if pre == b"ERROR: " {
                    self.saw_error = true;
                }
                if pre == b"NOTE: " && !self.verbose {
                    return Some(Dest::Drop);
                }
                return Some(Dest::Err);
            }
        }
        if !line_ended && PREFIXES.iter().any(|pre| pre.starts_with(p)) {
            return None;
        }
        Some(Dest::Out)
    }

    fn put(
        d: Dest,
        bytes: &[u8],
        o: &mut Output,
        res_out: &mut io::Result<()>,
        res_err: &mut io::Result<()>,
        wrote_out: &mut bool,
        wrote_err: &mut bool,
    ) {
        match d {
            Dest::Out => {
                if res_out.is_ok() {
                    *res_out = o.out.write_all(bytes);
                    *wrote_out = true;
                }
            }
            Dest::Err => {
                if res_err.is_ok() {
                    *res_err = o.err.write_all(bytes);
                    *wrote_err = true;
                }
            }
            Dest::Drop | Dest::System => {}
        }
    }

    /// End of stream: an undecided line start goes to stdout.
    pub fn finish(&mut self, o: &mut Output) -> io::Result<()> {
        if !self.pending.is_empty() {
            let p = std::mem::take(&mut self.pending);
            o.out.write_all(&p)?;
        }
        o.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Cap(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
    impl Write for Cap {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn split(chunks: &[&[u8]]) -> (String, Vec<String>, bool) {
        // Stderr cannot be captured here: check routing via what did NOT go to stdout.
        let buf = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut o = Output {
            out: Box::new(Cap(buf.clone())),
            err: io::stderr(),
        };
        let mut s = Splitter::default();
        let mut after_each = Vec::new();
        for c in chunks {
            s.feed(c, &mut o).unwrap();
            after_each.push(String::from_utf8_lossy(&buf.borrow()).into_owned());
        }
        s.finish(&mut o).unwrap();
        let all = String::from_utf8_lossy(&buf.borrow()).into_owned();
        (all, after_each, s.saw_error)
    }

    #[test]
    fn splitter_routes_and_writes_through() {
        let (all, each, err) = split(&[b"hel", b"lo\nERR", b"OR: bad\nx", b"WARN", b"y\n"]);
        assert_eq!(all, "hello\nxWARNy\n");
        assert_eq!(each[0], "hel"); // partial line shown at once
        assert_eq!(each[1], "hello\n"); // "ERR" held back
        assert_eq!(each[2], "hello\nx");
        assert!(err);
        let (all, _, err) = split(&[b"WARNING: w\nERRO\n", b"ERROR"]);
        assert_eq!(all, "ERRO\nERROR");
        assert!(!err);
        let (all, _, _) = split(&[b"E", b"R", b"R", b"X"]);
        assert_eq!(all, "ERRX");
    }
}
