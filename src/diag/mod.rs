//! Diagnostics: where things come from (`Loc`), what went wrong (`Diag`), and the one place that
//! turns them into codespan-rendered text. Every pass collects `Diag`s instead of stopping at the
//! first; the driver checks for errors between passes.

pub mod codes;
mod sources;
mod window;

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity as CsSeverity};
use codespan_reporting::term::{self, Config};
use std::ops::Range;

/// Index of a source text in the [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// What kind of text a file is: the user's script, a tapset embedded in the binary, or `-e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Script,
    Tapset,
    CommandLine,
}

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, r: Range<usize>) -> Span {
        Span {
            file,
            start: r.start as u32,
            end: r.end as u32,
        }
    }
    pub fn to(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Where a diagnostic points. The synthetic cases are spelled out so that nothing pretends to
/// come from a file it does not.
#[derive(Clone, Debug, PartialEq)]
pub enum Loc {
    /// A range in a script, a tapset, or the `-e` text.
    File(Span),
    /// A command-line option or argument, named.
    CommandLine(String),
    /// Made up by the translator.
    Synthesized,
}

impl From<Span> for Loc {
    fn from(s: Span) -> Loc {
        Loc::File(s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One diagnostic: a code, a message, a primary location with its label, secondary labels,
/// notes and an optional help line.
#[derive(Clone, Debug)]
pub struct Diag {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub primary: Loc,
    pub label: String,
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diag {
    pub fn error(code: &'static str, at: impl Into<Loc>, message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: at.into(),
            label: String::new(),
            secondary: vec![],
            notes: vec![],
            help: None,
        }
    }
    pub fn warning(code: &'static str, at: impl Into<Loc>, message: impl Into<String>) -> Diag {
        Diag {
            severity: Severity::Warning,
            ..Diag::error(code, at, message)
        }
    }
    pub fn label(mut self, l: impl Into<String>) -> Diag {
        self.label = l.into();
        self
    }
    pub fn secondary(mut self, at: Span, l: impl Into<String>) -> Diag {
        self.secondary.push((at, l.into()));
        self
    }
    pub fn note(mut self, n: impl Into<String>) -> Diag {
        self.notes.push(n.into());
        self
    }
    pub fn help(mut self, h: impl Into<String>) -> Diag {
        self.help = Some(h.into());
        self
    }
}

/// A growing list of diagnostics.
#[derive(Default, Debug)]
pub struct Diags {
    pub list: Vec<Diag>,
}

impl Diags {
    pub fn push(&mut self, d: Diag) {
        self.list.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.list.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn error_count(&self) -> usize {
        self.list
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    pub fn extend(&mut self, other: Diags) {
        self.list.extend(other.list);
    }
}

/// All source texts of one run, for spans and rendering.
#[derive(Default)]
pub struct SourceMap {
    /// The texts as diagnostics show them (see `shown`).
    files: sources::Sources,
    origins: Vec<Origin>,
    /// A file's own text, where it differs from what diagnostics show.
    raw: Vec<Option<String>>,
    /// Per file, the bytes that were not UTF-8 (offset and byte, ascending), each standing in
    /// the text as one SUB character (`syntax::text`).
    stray: Vec<Vec<(u32, u8)>>,
}

/// The text as a diagnostic shows it: a control character (an escape sequence in a script
/// would clear or recolour the terminal the error is printed on) becomes `?`, or `¿` for a
/// two-byte C1 control, so that every byte offset, line and column stays where it was.
/// `None` when the text has none (nearly always).
fn shown(text: &str) -> Option<String> {
    // A first look, in blocks with no early exit so that it vectorises: a C0 control or DEL,
    // or 0xc2, which starts every C1 control (and `©`, `é`, ...: those are looked at again).
    let maybe = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f || b == 0xc2;
    let any_maybe =
        (text.as_bytes().chunks(64)).any(|c| c.iter().fold(false, |a, &b| a | maybe(b)));
    if !any_maybe || !(text.chars()).any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        out.push(match ch {
            '\t' | '\n' | '\r' => ch,
            '\u{80}'..='\u{9f}' => '\u{bf}',
            c if c.is_ascii_control() => '?',
            c => c,
        });
    }
    debug_assert_eq!(out.len(), text.len());
    Some(out)
}

impl SourceMap {
    pub fn add(
        &mut self,
        name: impl Into<String>,
        text: impl Into<String>,
        origin: Origin,
    ) -> FileId {
        let text = text.into();
        let id = match shown(&text) {
            Some(shown) => {
                self.raw.push(Some(text));
                self.files.add(name.into(), shown)
            }
            None => {
                self.raw.push(None);
                self.files.add(name.into(), text)
            }
        };
        self.origins.push(origin);
        self.stray.push(vec![]);
        // Files are the script, the tapsets it uses and the macro library: far fewer than 2^32.
        FileId(u32::try_from(id).expect("fewer than 2^32 source files"))
    }
    pub fn text(&self, f: FileId) -> &str {
        if let Some(Some(raw)) = self.raw.get(f.0 as usize) {
            return raw;
        }
        self.files
            .get(f.0 as usize)
            .map(|f| f.source().as_str())
            .unwrap_or("")
    }
    /// Records the bytes of `f` that were not UTF-8 (see the field).
    pub fn set_stray(&mut self, f: FileId, stray: Vec<(u32, u8)>) {
        if let Some(s) = self.stray.get_mut(f.0 as usize) {
            *s = stray;
        }
    }
    pub fn stray(&self, f: FileId) -> &[(u32, u8)] {
        self.stray.get(f.0 as usize).map_or(&[], |s| s.as_slice())
    }
    pub fn name(&self, f: FileId) -> &str {
        self.files
            .get(f.0 as usize)
            .map(|f| f.name().as_str())
            .unwrap_or("?")
    }
    pub fn origin(&self, f: FileId) -> Origin {
        self.origins[f.0 as usize]
    }
    /// 1-based line and column (in characters) of a byte offset. Uses the file's precomputed
    /// line starts: the C writer asks this for every statement of every probe.
    pub fn line_col(&self, f: FileId, offset: u32) -> (usize, usize) {
        use codespan_reporting::files::Files;
        let text = self.text(f);
        let mut off = (offset as usize).min(text.len());
        while !text.is_char_boundary(off) {
            off -= 1;
        }
        match self.files.location(f.0 as usize, off) {
            Ok(l) => (l.line_number, l.column_number),
            Err(_) => (1, 1),
        }
    }
    /// `file:line:col` for a span, as the generated C reports run-time errors.
    pub fn describe(&self, s: Span) -> String {
        let (l, c) = self.line_col(s.file, s.start);
        format!("{}:{}:{}", self.name(s.file), l, c)
    }

    /// Render diagnostics without colour, as the CLI prints them and the tests compare them.
    pub fn render(&self, diags: &[Diag]) -> String {
        let mut out = String::new();
        let config = Config::default();
        for d in diags {
            let mut cs = self.to_codespan(d);
            let view = window::View::new(&self.files, &mut cs);
            let _ = term::emit_to_string(&mut out, &config, &view, &cs);
        }
        out
    }

    fn to_codespan(&self, d: &Diag) -> Diagnostic<usize> {
        let sev = match d.severity {
            Severity::Error => CsSeverity::Error,
            Severity::Warning => CsSeverity::Warning,
        };
        let mut cs = Diagnostic::new(sev)
            .with_code(d.code)
            .with_message(&d.message);
        let mut labels = vec![];
        let mut notes = vec![];
        match &d.primary {
            Loc::File(s) => {
                labels.push(Label::primary(s.file.0 as usize, s.range()).with_message(&d.label))
            }
            Loc::CommandLine(what) => notes.push(format!("from the command line: {what}")),
            Loc::Synthesized => {}
        }
        for (s, l) in &d.secondary {
            labels.push(Label::secondary(s.file.0 as usize, s.range()).with_message(l));
        }
        notes.extend(d.notes.iter().cloned());
        if let Some(h) = &d.help {
            notes.push(format!("help: {h}"));
        }
        cs = cs.with_labels(labels).with_notes(notes);
        cs
    }
}

/// Edit distance, for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate nearest to `word`, if it is near enough to be a plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn control_characters_are_shown_in_place() {
        assert_eq!(
            shown("café ©\ttab\r\n"),
            None,
            "text and whitespace stay as they are"
        );
        let text = "a\u{1b}[2Jb\u{9b}c\u{7f}\u{0}";
        let s = shown(text).expect("has controls");
        assert_eq!(s, "a?[2Jb\u{bf}c??");
        assert_eq!(s.len(), text.len(), "byte offsets unchanged");
        assert_eq!(s.chars().count(), text.chars().count(), "columns unchanged");
    }
}
