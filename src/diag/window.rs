//! Long lines in diagnostics. A script line can be hundreds of kilobytes long (a generated or
//! minified script, a `-e` text written by another program); an error on it would print the
//! whole line twice over (the text, then the carets under it). A labelled line longer than
//! [`LONGEST_SHOWN`] is shown as a window around its label, the cut ends marked `…`. Line
//! numbers are unchanged, and the `file:line:col` heading still names the column in the
//! real line: [`View::location`] maps a position in the shown text back.

use super::sources::Sources;
use codespan_reporting::diagnostic::Diagnostic;
use codespan_reporting::files::{Error, Files, Location};
use std::ops::Range;

/// The longest line shown whole, in bytes.
pub const LONGEST_SHOWN: usize = 240;
/// How much of a cut line is shown: about this many bytes before the label's start, and this
/// many in all.
const BEFORE: usize = 60;
const WINDOW: usize = 160;
const MARK: &str = "…";

/// One file's text as shown, with the byte ranges of the real text each `…` stands for.
struct Cut {
    file: usize,
    text: String,
    /// The real text's ranges left out, in order.
    gaps: Vec<Range<usize>>,
    line_starts: Vec<usize>,
}

impl Cut {
    /// Where real offset `o` is in the shown text. An offset inside a gap lands at the start
    /// of its `…`, or, with `end` (a range's end), just after it.
    fn shown(&self, o: usize, end: bool) -> usize {
        let mut shift = 0isize;
        for g in &self.gaps {
            if o < g.start || (end && o == g.start) {
                break;
            }
            if o < g.end {
                let mark = (g.start as isize + shift) as usize;
                return if end { mark + MARK.len() } else { mark };
            }
            shift += MARK.len() as isize - g.len() as isize;
        }
        (o as isize + shift) as usize
    }
    /// The real offset at shown offset `s` (the start of its gap inside a `…`).
    fn real(&self, s: usize) -> usize {
        let mut shift = 0isize;
        for g in &self.gaps {
            let mark = (g.start as isize + shift) as usize;
            if s < mark {
                break;
            }
            if s < mark + MARK.len() {
                return g.start;
            }
            shift += MARK.len() as isize - g.len() as isize;
        }
        (s as isize - shift) as usize
    }
}

/// The source files as one diagnostic shows them: the run's files, with the labelled long
/// lines of some cut.
pub struct View<'a> {
    files: &'a Sources,
    cuts: Vec<Cut>,
}

impl<'a> View<'a> {
    /// The view for `d`, with its labels moved into the shown text. Nearly always no line is
    /// long and nothing is copied.
    pub fn new(files: &'a Sources, d: &mut Diagnostic<usize>) -> View<'a> {
        let mut view = View {
            files,
            cuts: vec![],
        };
        // Each long labelled line once, windowed at its first label (the primary comes first).
        let mut lines: Vec<(usize, Range<usize>, usize)> = vec![];
        for l in &d.labels {
            let Ok(src) = files.get(l.file_id).map(|f| f.source().as_str()) else {
                continue;
            };
            let Ok(line) = files.line_index(l.file_id, l.range.start) else {
                continue;
            };
            let Ok(range) = files.line_range(l.file_id, line) else {
                continue;
            };
            let text = src[range.clone()].trim_end_matches(['\n', '\r']);
            let range = range.start..range.start + text.len();
            if range.len() > LONGEST_SHOWN
                && !lines.iter().any(|(f, r, _)| *f == l.file_id && *r == range)
            {
                lines.push((l.file_id, range, l.range.start));
            }
        }
        if lines.is_empty() {
            return view;
        }
        lines.sort_by_key(|(f, r, _)| (*f, r.start));
        for (file, line, at) in lines {
            let src = files.get(file).map(|f| f.source().as_str()).unwrap_or("");
            let start = floor_char(src, at.saturating_sub(BEFORE).max(line.start));
            let end = floor_char(src, (start + WINDOW).min(line.end));
            let gaps = [line.start..start, end..line.end];
            let cut = match view.cuts.iter_mut().position(|c| c.file == file) {
                Some(i) => &mut view.cuts[i],
                None => {
                    view.cuts.push(Cut {
                        file,
                        text: String::new(),
                        gaps: vec![],
                        line_starts: vec![],
                    });
                    view.cuts.last_mut().expect("just pushed")
                }
            };
            cut.gaps.extend(gaps.into_iter().filter(|g| !g.is_empty()));
        }
        for cut in &mut view.cuts {
            let src = files
                .get(cut.file)
                .map(|f| f.source().as_str())
                .unwrap_or("");
            let mut at = 0;
            for g in &cut.gaps {
                cut.text.push_str(&src[at..g.start]);
                cut.text.push_str(MARK);
                at = g.end;
            }
            cut.text.push_str(&src[at..]);
            cut.line_starts = std::iter::once(0)
                .chain(cut.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
        }
        for l in &mut d.labels {
            if let Some(c) = view.cuts.iter().find(|c| c.file == l.file_id) {
                let start = c.shown(l.range.start, false);
                l.range = start..c.shown(l.range.end, true).max(start);
            }
        }
        view
    }
    fn cut(&self, id: usize) -> Option<&Cut> {
        self.cuts.iter().find(|c| c.file == id)
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl<'a> Files<'a> for View<'a> {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, Error> {
        Ok(self.files.get(id)?.name().as_str())
    }
    fn source(&'a self, id: usize) -> Result<&'a str, Error> {
        match self.cut(id) {
            Some(c) => Ok(&c.text),
            None => Ok(self.files.get(id)?.source().as_str()),
        }
    }
    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, Error> {
        match self.cut(id) {
            Some(c) => Ok(c.line_starts.partition_point(|&s| s <= byte_index) - 1),
            None => self.files.line_index(id, byte_index),
        }
    }
    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, Error> {
        let Some(c) = self.cut(id) else {
            return self.files.line_range(id, line_index);
        };
        let start = *c.line_starts.get(line_index).ok_or(Error::LineTooLarge {
            given: line_index,
            max: c.line_starts.len() - 1,
        })?;
        let end = c
            .line_starts
            .get(line_index + 1)
            .copied()
            .unwrap_or(c.text.len());
        Ok(start..end)
    }
    /// The heading's line and column: those of the real text.
    fn location(&'a self, id: usize, byte_index: usize) -> Result<Location, Error> {
        match self.cut(id) {
            Some(c) => self.files.location(id, c.real(byte_index)),
            None => self.files.location(id, byte_index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codespan_reporting::diagnostic::Label;

    #[test]
    fn a_long_line_is_cut_around_its_label_and_maps_back() {
        let mut files = Sources::default();
        let long = format!("ab\n{}X{}\nshort\n", "é".repeat(200), "y".repeat(300));
        let id = files.add("s.stp".to_string(), long.clone());
        let x = long.find('X').unwrap();
        let mut d = Diagnostic::error().with_labels(vec![
            Label::primary(id, x..x + 1),
            Label::secondary(id, 0..2),
            Label::secondary(id, long.find("short").unwrap()..long.len() - 1),
        ]);
        let view = View::new(&files, &mut d);
        let shown = view.source(id).unwrap();
        assert!(
            shown.len() < 3 + LONGEST_SHOWN + 12,
            "cut: {} bytes",
            shown.len()
        );
        assert!(shown.starts_with("ab\n…é"), "other lines whole");
        assert!(shown.ends_with("y…\nshort\n"));
        // Labels move with the text; a line's number and the heading's column stay real.
        assert_eq!(&shown[d.labels[0].range.clone()], "X");
        assert_eq!(&shown[d.labels[1].range.clone()], "ab");
        assert_eq!(&shown[d.labels[2].range.clone()], "short");
        let at = view.location(id, d.labels[0].range.start).unwrap();
        assert_eq!((at.line_number, at.column_number), (2, 201));
        assert_eq!(view.line_index(id, d.labels[2].range.start).unwrap(), 2);
        // Inside a cut, a position is the cut's start.
        let c = view.cut(id).unwrap();
        let mark = shown.find(MARK).unwrap();
        assert_eq!(c.real(mark + 1), 3);
        assert_eq!(c.shown(5, false), mark);
        assert_eq!(c.shown(5, true), mark + MARK.len());
    }

    #[test]
    fn short_lines_are_shown_as_they_are() {
        let mut files = Sources::default();
        let id = files.add("s.stp".to_string(), "probe begin { x = 1 }\n".to_string());
        let mut d = Diagnostic::error().with_labels(vec![Label::primary(id, 14..15)]);
        let view = View::new(&files, &mut d);
        assert!(view.cuts.is_empty());
        assert_eq!(d.labels[0].range, 14..15);
    }
}
