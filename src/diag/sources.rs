//! The source texts of one run, as codespan's `Files` reads them: a name, the text, and where
//! each line starts. Our own rather than codespan's `SimpleFiles`, which finds the line starts
//! one `match_indices('\n')` step at a time: for a 3,200-line script that was 1% of `-p3`.

use codespan_reporting::files::{Error, Files, Location, column_index};
use std::ops::Range;

/// One source text.
pub struct Source {
    name: String,
    text: String,
    /// The byte offset of each line's first byte: 0, then one past each `\n`.
    line_starts: Vec<usize>,
}

impl Source {
    fn new(name: String, text: String) -> Source {
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Source {
            name,
            text,
            line_starts,
        }
    }
    pub fn name(&self) -> &String {
        &self.name
    }
    pub fn source(&self) -> &String {
        &self.text
    }
    /// Where line `i` (from 0) starts; the text's length for the line after the last.
    fn line_start(&self, i: usize) -> Result<usize, Error> {
        match self.line_starts.get(i) {
            Some(&s) => Ok(s),
            None if i == self.line_starts.len() => Ok(self.text.len()),
            None => Err(Error::LineTooLarge {
                given: i,
                max: self.line_starts.len() - 1,
            }),
        }
    }
}

/// The texts, indexed by the order they were added.
#[derive(Default)]
pub struct Sources {
    files: Vec<Source>,
}

impl Sources {
    pub fn add(&mut self, name: String, text: String) -> usize {
        self.files.push(Source::new(name, text));
        self.files.len() - 1
    }
    pub fn get(&self, id: usize) -> Result<&Source, Error> {
        self.files.get(id).ok_or(Error::FileMissing)
    }
}

impl<'a> Files<'a> for Sources {
    type FileId = usize;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<String, Error> {
        Ok(self.get(id)?.name.clone())
    }
    fn source(&'a self, id: usize) -> Result<&'a str, Error> {
        Ok(&self.get(id)?.text)
    }
    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, Error> {
        let f = self.get(id)?;
        // The last line starting at or before the byte.
        Ok(f.line_starts.partition_point(|&s| s <= byte_index) - 1)
    }
    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, Error> {
        let f = self.get(id)?;
        Ok(f.line_start(line_index)?..f.line_start(line_index + 1)?)
    }
    /// As the trait's own, which counts a column's characters a byte at a time: an ASCII
    /// line's column is its length in bytes. Pass 3 asks this for every statement it writes
    /// (1% of `-p3` of a generated 3,200-line script).
    fn location(&'a self, id: usize, byte_index: usize) -> Result<Location, Error> {
        let line_index = self.line_index(id, byte_index)?;
        let line = self.line_range(id, line_index)?;
        let f = self.get(id)?;
        let end = byte_index.min(line.end).min(f.text.len());
        let before = f.text.as_bytes().get(line.start..end).unwrap_or_default();
        let column = if before.is_ascii() {
            before.len()
        } else {
            column_index(&f.text, line.clone(), byte_index)
        };
        Ok(Location {
            line_number: line_index + 1,
            column_number: column + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines and places read as codespan's own file database reads them.
    #[test]
    fn reads_as_simple_files() {
        use codespan_reporting::files::SimpleFiles;
        for text in [
            "",
            "a",
            "a\n",
            "\n\n",
            "ab\ncd\n\nef",
            "é\nxé\n",
            "x\r\ny",
            "ab→c\n\tdé€f",
        ] {
            let mut ours = Sources::default();
            let mut theirs = SimpleFiles::new();
            let a = ours.add("f".into(), text.to_string());
            let b = theirs.add("f".to_string(), text.to_string());
            for i in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                assert_eq!(
                    ours.location(a, i).ok(),
                    theirs.location(b, i).ok(),
                    "{text:?} {i}"
                );
                let l = ours.line_index(a, i).unwrap();
                assert_eq!(Ok(l), theirs.line_index(b, i).map_err(|_| ()));
                assert_eq!(
                    ours.line_range(a, l).ok(),
                    theirs.line_range(b, l).ok(),
                    "{text:?} {l}"
                );
            }
            let n = text.matches('\n').count();
            for l in [n + 1, n + 2] {
                assert_eq!(
                    ours.line_range(a, l).is_ok(),
                    theirs.line_range(b, l).is_ok()
                );
            }
        }
    }
}
