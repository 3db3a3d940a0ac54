//! Kernel functions by pattern: the expansion of a function probe's wildcard
//! (`kprobe.function("vfs_*")`) against the running kernel, for the loader (which passes the
//! matches to the module) and for `-l`. Functions the kernel will not let a kprobe on (its
//! kprobe blacklist, and `notrace` functions, which ftrace's list of traceable functions
//! leaves out) are left out, as are compiler-made symbols (`__pfx_`, `.cold`, ...).

use std::collections::HashSet;

/// `fnmatch`-style matching: `*`, `?`, and `[...]` (with ranges and `!`/`^` negation).
pub fn matches(pat: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    fn class(p: &[char], c: char) -> Option<(bool, usize)> {
        // Some((matched, length of the class in p)) for a class starting at p[0] == '['.
        let mut i = 1;
        let neg = matches!(p.get(1), Some('!' | '^'));
        if neg {
            i += 1;
        }
        let mut hit = false;
        let mut first = true;
        while i < p.len() && (first || p[i] != ']') {
            first = false;
            if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                hit |= p[i] <= c && c <= p[i + 2];
                i += 3;
            } else {
                hit |= p[i] == c;
                i += 1;
            }
        }
        (i < p.len()).then_some((hit != neg, i + 1))
    }
    fn go(p: &[char], s: &[char]) -> bool {
        let (mut pi, mut si) = (0, 0);
        let (mut star, mut mark) = (None, 0);
        while si < s.len() {
            let step = match p.get(pi) {
                Some('*') => {
                    star = Some(pi);
                    mark = si;
                    pi += 1;
                    continue;
                }
                Some('?') => Some(1),
                Some('[') => match class(&p[pi..], s[si]) {
                    Some((true, n)) => Some(n),
                    Some((false, _)) => None,
                    None => (s[si] == '[').then_some(1),
                },
                Some(&c) => (c == s[si]).then_some(1),
                None => None,
            };
            match (step, star) {
                (Some(n), _) => {
                    pi += n;
                    si += 1;
                }
                (None, Some(st)) => {
                    pi = st + 1;
                    mark += 1;
                    si = mark;
                }
                (None, None) => return false,
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
    go(&p, &s)
}

/// The names in a file of one name per line (first column), if it can be read.
fn names_in(path: &str) -> Option<HashSet<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|l| {
                // available_filter_functions: "name [module]"; the kprobe blacklist:
                // "0xstart-0xend\tname".
                let mut it = l.split_ascii_whitespace();
                let first = it.next()?;
                Some(
                    if first.starts_with("0x") {
                        it.next()?
                    } else {
                        first
                    }
                    .to_string(),
                )
            })
            .collect(),
    )
}

/// What the running kernel says about probing: its kprobe blacklist and, if tracefs can be
/// read, the functions ftrace can trace (others are notrace).
pub struct Probeable {
    blacklist: HashSet<String>,
    traceable: Option<HashSet<String>>,
}

impl Probeable {
    pub fn read() -> Probeable {
        let blacklist = names_in("/sys/kernel/debug/kprobes/blacklist").unwrap_or_default();
        let traceable = names_in("/sys/kernel/tracing/available_filter_functions")
            .or_else(|| names_in("/sys/kernel/debug/tracing/available_filter_functions"));
        Probeable {
            blacklist,
            traceable,
        }
    }

    fn allows(&self, name: &str) -> bool {
        !self.blacklist.contains(name) && self.traceable.as_ref().is_none_or(|t| t.contains(name))
    }
}

/// The functions of `/proc/kallsyms` text that match `pattern` (in `module`, or in the kernel
/// proper when None) and may be probed, each once, sorted.
pub fn expand(kallsyms: &str, pattern: &str, module: Option<&str>, ok: &Probeable) -> Vec<String> {
    let mut out: Vec<String> = kallsyms
        .lines()
        .filter_map(|l| {
            let mut it = l.split_ascii_whitespace();
            let (_, ty, name) = (it.next()?, it.next()?, it.next()?);
            let md = it.next().map(|m| m.trim_matches(['[', ']']));
            let text = matches!(ty, "t" | "T");
            let made = name.starts_with("__pfx_") || name.contains('.');
            (text && !made && md == module && matches(pattern, name) && ok.allows(name))
                .then(|| name.to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch() {
        assert!(matches("vfs_*", "vfs_read"));
        assert!(matches("*read*", "vfs_read_iter"));
        assert!(matches("proc_do?ntvec", "proc_dointvec"));
        assert!(matches("sys_[rw]*", "sys_write"));
        assert!(!matches("sys_[!rw]*", "sys_write"));
        assert!(matches("f[a-c]", "fb"));
        assert!(!matches("f[a-c]", "fd"));
        assert!(!matches("vfs_*", "do_vfs_read"));
        assert!(matches("*", ""));
        assert!(!matches("a", ""));
    }

    #[test]
    fn expansion() {
        let ks = "ffffffff81000000 T vfs_read\n\
                  ffffffff81000010 t vfs_write\n\
                  ffffffff81000020 D vfs_data\n\
                  ffffffff81000030 t __pfx_vfs_read\n\
                  ffffffff81000040 t vfs_read.cold\n\
                  ffffffff81000050 t vfs_read\n\
                  ffffffffc0000000 t vfs_mod\t[ext4]\n\
                  ffffffff81000060 T vfs_blacklisted\n";
        let ok = Probeable {
            blacklist: ["vfs_blacklisted".to_string()].into(),
            traceable: None,
        };
        assert_eq!(expand(ks, "vfs_*", None, &ok), ["vfs_read", "vfs_write"]);
        assert_eq!(expand(ks, "vfs_*", Some("ext4"), &ok), ["vfs_mod"]);
        let ok = Probeable {
            blacklist: HashSet::new(),
            traceable: Some(["vfs_write".to_string()].into()),
        };
        assert_eq!(expand(ks, "vfs_*", None, &ok), ["vfs_write"]);
    }
}
