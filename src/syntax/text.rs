//! Pass 1, before the lexer: a script file's bytes to the text the passes read. SystemTap reads
//! bytes, so a script written in Latin-1 (an `é` in a comment or a string) works there; here
//! the passes read UTF-8. Each byte that is not UTF-8 becomes one ASCII SUB (0x1a), so that
//! every byte offset, line and column stays where it was, and is remembered: the lexer lets
//! it pass in a comment, turns it back into that byte in a string literal, and reports it
//! anywhere else (`lexer.rs`). A leading UTF-8 byte-order mark, which some editors write, is
//! dropped: columns are then counted from the first character the editor shows.

/// Stands in for a byte that is not UTF-8.
pub const STRAY: u8 = 0x1a;

/// A byte that is not UTF-8, at its offset in the text.
pub type Stray = (u32, u8);

/// The text of a script file and the bytes that were not UTF-8 (by offset, ascending), or
/// the bytes back for a file that looks binary (it holds a NUL byte as well as bytes that are
/// not UTF-8).
pub fn decode(mut bytes: Vec<u8>) -> Result<(String, Vec<Stray>), Vec<u8>> {
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return Ok((s, vec![])),
        Err(e) => e.into_bytes(),
    };
    if memchr::memchr(0, &bytes).is_some() {
        return Err(bytes);
    }
    let mut text = String::with_capacity(bytes.len());
    let mut stray = vec![];
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                text.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // Valid up to here, by the error's own account.
                text.push_str(std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len());
                for &b in &bad[..n] {
                    // Scripts are at most 8 MiB (lexer::MAX_SOURCE_BYTES); a larger one is
                    // refused before any stray byte is looked at.
                    stray.push((u32::try_from(text.len()).unwrap_or(u32::MAX), b));
                    text.push(char::from(STRAY));
                }
                rest = &bad[n..];
            }
        }
    }
    Ok((text, stray))
}

/// The byte that stood at `offset`, if the text's SUB there stands for one.
pub fn stray_at(stray: &[Stray], offset: usize) -> Option<u8> {
    let offset = u32::try_from(offset).ok()?;
    stray
        .binary_search_by_key(&offset, |&(o, _)| o)
        .ok()
        .map(|i| stray[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stray_bytes_keep_their_offsets() {
        let (text, stray) = decode(b"# caf\xe9\nx = \"\xe9t\xe9\"".to_vec()).expect("text");
        assert_eq!(text, "# caf\x1a\nx = \"\x1at\x1a\"");
        assert_eq!(stray, vec![(5, 0xe9), (12, 0xe9), (14, 0xe9)]);
        assert_eq!(stray_at(&stray, 12), Some(0xe9));
        assert_eq!(stray_at(&stray, 13), None);
        // A truncated sequence at the end, each of its bytes one stray.
        let (text, stray) = decode(b"a\xe2\x82".to_vec()).expect("text");
        assert_eq!(text, "a\x1a\x1a");
        assert_eq!(stray, vec![(1, 0xe2), (2, 0x82)]);
    }

    #[test]
    fn byte_order_mark_is_dropped() {
        let (text, stray) = decode(b"\xef\xbb\xbfprobe".to_vec()).expect("text");
        assert_eq!((text.as_str(), stray.len()), ("probe", 0));
        // Only at the start.
        let (text, _) = decode("a\u{feff}".as_bytes().to_vec()).expect("text");
        assert_eq!(text, "a\u{feff}");
    }

    #[test]
    fn binary_files_are_not_text() {
        assert!(decode(b"\x7fELF\x02\x01\x00\xff".to_vec()).is_err());
        assert!(decode(b"ok\x00".to_vec()).is_ok());
    }
}
