//! Folding failure text to its shape, so that one bug seen through many inputs is reported
//! once (the deterministic fuzzers, and the checks of generated scripts, `check.rs`).

/// A line with every run of letters, digits and underscores folded to `x`: the shape of a
/// construct, so that one printer bug seen through many scripts is reported once.
pub fn shape(line: &str) -> String {
    let mut o = String::new();
    let mut in_word = false;
    for c in line.trim().chars() {
        if c.is_alphanumeric() || c == '_' {
            if !in_word {
                o.push('x');
            }
            in_word = true;
        } else {
            in_word = false;
            o.push(c);
        }
    }
    o
}

/// The first line where two dumps differ, folded to its shape.
pub fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let i = la
        .iter()
        .zip(&lb)
        .position(|(x, y)| x != y)
        .unwrap_or(la.len().min(lb.len()));
    format!(
        "{} / {}",
        shape(la.get(i).copied().unwrap_or("")),
        shape(lb.get(i).copied().unwrap_or(""))
    )
}
