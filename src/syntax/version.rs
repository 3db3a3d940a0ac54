//! How the preprocessor compares what its conditions name, as SystemTap does: versions
//! (`kernel_v`, `kernel_vr`, `systemtap_v`) in version order, the way glibc's `strverscmp`
//! orders them, and `==`/`!=` against a pattern as `fnmatch` matches it (`*`, `?`, bracket
//! classes, `\` escapes). Written from the documented behaviour of both.

use std::cmp::Ordering;

/// Version order: bytes compare as bytes, except where both strings have a run of digits at
/// the first difference. There two runs without a leading zero compare as numbers
/// ("4.10" > "4.8"); a run with one compares as a fraction, below any run without
/// ("6.01" < "6.1"), and among such runs more leading zeros come first ("000" < "00" <
/// "01" < "010" < "09" < "0"). A string that is a prefix of the other comes first
/// ("6.1.0" < "6.1.0-rc1": no special case for release candidates, as in SystemTap).
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if i == a.len() && i == b.len() {
        return Ordering::Equal;
    }
    // The digit runs around the first difference, starting where they start in the
    // common prefix.
    let start = i - a[..i]
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .count();
    let run = |s: &[u8]| -> usize { s[start..].iter().take_while(|c| c.is_ascii_digit()).count() };
    let (ra, rb) = (&a[start..start + run(a)], &b[start..start + run(b)]);
    let bytes = || a.get(i).cmp(&b.get(i));
    if ra.is_empty() || rb.is_empty() || ra == rb {
        return bytes();
    }
    match (ra[0] == b'0', rb[0] == b'0') {
        (false, false) => ra.len().cmp(&rb.len()).then_with(|| ra.cmp(rb)),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (true, true) => fraction_cmp(ra, rb),
    }
}

/// Two different digit runs that both start with `0`.
fn fraction_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let k = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(k), b.get(k)) {
        (Some(x), Some(y)) => x.cmp(y),
        // One run is the other's beginning: after zeros alone the shorter has fewer leading
        // zeros and comes last ("00" > "000", "0" > "09"); after another digit it comes
        // first ("01" < "010").
        (None, _) if a.iter().all(|&c| c == b'0') => Ordering::Greater,
        (_, None) if b.iter().all(|&c| c == b'0') => Ordering::Less,
        (x, y) => x.cmp(&y),
    }
}

/// Whether `pat` has what makes `==` a pattern match rather than an equality.
pub fn is_pattern(pat: &str) -> bool {
    pat.contains(['*', '?', '['])
}

/// `s` matches the shell pattern `pat`, as `fnmatch(pat, s, 0)`: `*` any run of characters,
/// `?` one, `[abc]`, `[a-z]`, `[!a]` or `[^a]` and `[[:digit:]]` one of a set (a `]` first
/// in the set is itself; a `[` without its `]` is itself), `\c` the character c.
pub fn fnmatch(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    matches_at(&p, &s)
}

fn matches_at(p: &[char], s: &[char]) -> bool {
    let (mut pi, mut si) = (0, 0);
    // The last `*` seen (the pattern after it) and where in `s` it was tried to end.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            if p[pi] == '*' {
                star = Some((pi + 1, si));
                pi += 1;
                continue;
            }
            if si < s.len() {
                if let Some(len) = one(&p[pi..], s[si]) {
                    pi += len;
                    si += 1;
                    continue;
                }
            }
        } else if si == s.len() {
            return true;
        }
        // A mismatch: let the last `*` take one more character, if there is one to take.
        match star {
            Some((after, from)) if from < s.len() => {
                star = Some((after, from + 1));
                pi = after;
                si = from + 1;
            }
            _ => return false,
        }
    }
}

/// Whether the pattern's first element (not `*`) matches `c`: the element's length if so.
fn one(p: &[char], c: char) -> Option<usize> {
    match p[0] {
        '?' => Some(1),
        '\\' if p.len() > 1 => (p[1] == c).then_some(2),
        '[' => match bracket(p, c) {
            Some((hit, len)) => hit.then_some(len),
            None => (c == '[').then_some(1),
        },
        x => (x == c).then_some(1),
    }
}

/// A bracket expression at the start of `p`: whether it holds `c`, and its length; `None`
/// when it has no closing `]`.
fn bracket(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let ch = *p.get(i)?;
        if ch == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if ch == '[' && p.get(i + 1) == Some(&':') {
            let rest: String = p[i + 2..].iter().collect();
            if let Some(end) = rest.find(":]") {
                hit |= class(&rest[..end], c);
                i += 2 + rest[..end].chars().count() + 2;
                continue;
            }
        }
        let (lo, next) = match ch {
            '\\' => (*p.get(i + 1)?, i + 2),
            _ => (ch, i + 1),
        };
        if p.get(next) == Some(&'-') && p.get(next + 1).is_some_and(|&h| h != ']') {
            let (hi, after) = match p[next + 1] {
                '\\' => (*p.get(next + 2)?, next + 3),
                h => (h, next + 2),
            };
            hit |= (lo..=hi).contains(&c);
            i = after;
        } else {
            hit |= lo == c;
            i = next;
        }
    }
}

/// A `[:name:]` class of the C locale.
fn class(name: &str, c: char) -> bool {
    match name {
        "alnum" => c.is_ascii_alphanumeric(),
        "alpha" => c.is_ascii_alphabetic(),
        "blank" => c == ' ' || c == '\t',
        "cntrl" => c.is_ascii_control(),
        "digit" => c.is_ascii_digit(),
        "graph" => c.is_ascii_graphic(),
        "lower" => c.is_ascii_lowercase(),
        "print" => c.is_ascii_graphic() || c == ' ',
        "punct" => c.is_ascii_punctuation(),
        "space" => c.is_ascii_whitespace() || c == '\x0b',
        "upper" => c.is_ascii_uppercase(),
        "xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn versions_in_order() {
        // Each result checked against stap 4.8's `%( kernel_v OP "..." %)` on 6.1.0-56.
        for (a, b, want) in [
            ("6.1.0", "6.1", Greater),
            ("6.1.0", "6.1.0-rc1", Less),
            ("6.1.0-56-amd64", "6.1.0-56", Greater),
            ("6.1.0-56-amd64", "6.1.0-100", Less),
            ("6.1.0-56-amd64", "6.1.0-056", Greater),
            ("6.1.0", "6.01.0", Greater),
            ("6.1.0", "06.1.0", Greater),
            ("6.1.0", "6.1.00", Greater),
            ("6.1.0", "6.1.0.0", Less),
            ("6.1.0", "6.1.0a", Less),
            ("4.8", "4.10", Less),
            ("6.12.117", "6.1.9", Greater),
            ("6.1", "6.1", Equal),
        ] {
            assert_eq!(version_cmp(a, b), want, "{a} vs {b}");
            assert_eq!(version_cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn digit_runs_as_strverscmp_documents_them() {
        let order = ["000", "00", "01", "010", "09", "0", "1", "9", "10"];
        for (i, a) in order.iter().enumerate() {
            for (j, b) in order.iter().enumerate() {
                assert_eq!(version_cmp(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn patterns_as_fnmatch() {
        for (p, s, want) in [
            ("x86_6[0-9]", "x86_64", true),
            ("6.1.*", "6.1.0", true),
            ("6.1.0-5?-*", "6.1.0-56-amd64", true),
            ("6.1.[!0-9]", "6.1.0", false),
            ("6.1.[^1]", "6.1.0", true),
            ("[[:alpha:]]86_64", "x86_64", true),
            ("[]x]86_64", "x86_64", true),
            ("6.1.0\\*", "6.1.0", false),
            ("6.1.0\\*", "6.1.0*", true),
            ("6.1.0[", "6.1.0", false),
            ("6.1.0[", "6.1.0[", true),
            ("*", "", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("6.1?", "6.12.1", false),
        ] {
            assert_eq!(fnmatch(p, s), want, "{p} vs {s}");
        }
    }
}
