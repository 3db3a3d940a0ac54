//! The run-time limits a module is built with: SystemTap's `-D NAME=VALUE` names, each with its
//! default and the range it may take. Below every pass that needs them: pass 2 bounds array
//! sizes by MAXMAPENTRIES' range, pass 4 turns `-D` into compiler definitions.
//!
//! The same ranges are checked a second time by `#error`s in `runtime-c/stp_limits.h`, so a
//! module built by hand with `-D` cannot get around them (a unit test keeps both in step, and
//! another the README's table).

/// One limit: SystemTap's name (passed to the compiler with the runtime's `STP_` prefix, unless
/// SystemTap's name already has it).
pub struct Limit {
    pub name: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    /// What it bounds, for the README and messages.
    pub what: &'static str,
}

/// Every limit `-D` accepts without `-g`. The bounds keep the module safe rather than merely
/// working: the upper ones bound the time a probe may hold a CPU in NMI or hard-IRQ context,
/// the stack it uses there, and what module init allocates; the lower ones exclude the values
/// that switch a limit off or crash (MAXACTION=-1 meant no limit; MAXMAPENTRIES=0 panicked a
/// guest).
pub const LIMITS: &[Limit] = &[
    Limit {
        name: "MAXACTION",
        default: 1000,
        min: 1,
        max: 1_000_000,
        what: "statements and loop iterations in one probe run (sorting or clearing an array: 16 steps an action)",
    },
    Limit {
        name: "MAXSTRINGLEN",
        default: 128,
        min: 8,
        max: 4096,
        what: "bytes of a string, its NUL included",
    },
    Limit {
        name: "MAXMAPENTRIES",
        default: 2048,
        min: 1,
        max: MAX_MAP_ENTRIES,
        what: "entries of an array declared without a size",
    },
    Limit {
        name: "MAXNESTING",
        default: 10,
        min: 1,
        max: 32,
        what: "depth of function calls",
    },
    Limit {
        name: "MAXTRYLOCK",
        default: 100,
        min: 1,
        max: 10_000,
        what: "attempts to take a global's lock before the probe run is skipped",
    },
    Limit {
        name: "TRYLOCKDELAY",
        default: 10,
        min: 0,
        max: 100,
        what: "microseconds between two attempts",
    },
    Limit {
        name: "MAXSKIPPED",
        default: 100,
        min: 0,
        max: 1_000_000_000,
        what: "skipped probe runs before the session ends",
    },
    Limit {
        name: "MAXERRORS",
        default: 0,
        min: 0,
        max: 1_000_000_000,
        what: "failed probe runs before the session ends",
    },
    Limit {
        name: "BUFSIZE",
        default: 65536,
        min: 4096,
        max: 64 << 20,
        what: "bytes of each CPU's output ring (a power of two)",
    },
    Limit {
        name: "PRINTBUF",
        default: 8192,
        min: 64,
        max: 16 << 20,
        what: "bytes one probe run gathers before it commits them (at most BUFSIZE / 4)",
    },
    Limit {
        name: "MAXBACKTRACE",
        default: 32,
        min: 1,
        max: 64,
        what: "frames print_backtrace() prints (they are kept on the stack)",
    },
    Limit {
        name: "MAXWATCHINSTANCES",
        default: 16,
        min: 1,
        max: 1024,
        what: "instances of parametric watchpoints at once",
    },
    Limit {
        name: "MAXWATCHREQUESTS",
        default: 64,
        min: 1,
        max: 65536,
        what: "`enable`/`disable` requests made and not yet done",
    },
    Limit {
        name: "WATCHRETRYMS",
        default: 100,
        min: 1,
        max: 60000,
        what: "milliseconds between tries of waiting watchpoints",
    },
    Limit {
        name: "MAXKPROBES",
        default: 512,
        min: 1,
        max: 8192,
        what: "functions one function probe point (a wildcard) may match",
    },
    // SystemTap's overload check, with its names and defaults. The upper bound stops a session
    // that takes a whole CPU within 10 s even at 1 GHz, before the kernel's soft-lockup
    // detector (20 s) would complain.
    Limit {
        name: "STP_OVERLOAD_THRESHOLD",
        default: 500_000_000,
        min: 1,
        max: 10_000_000_000,
        what: "cycles probe runs may take on one CPU per interval before the session stops (at most the interval)",
    },
    Limit {
        name: "STP_OVERLOAD_INTERVAL",
        default: 1_000_000_000,
        min: 1_000_000,
        max: 10_000_000_000,
        what: "cycles of one overload window, counted by get_cycles() (the TSC on x86)",
    },
];

impl Limit {
    /// The macro the runtime reads: `STP_` and the name, or SystemTap's name as it is when it
    /// already starts with `STP_`.
    pub fn macro_name(&self) -> String {
        if self.name.starts_with("STP_") {
            self.name.to_string()
        } else {
            format!("STP_{}", self.name)
        }
    }
}

/// A macro `-D NAME` accepts without a value and without `-g`: it switches a protection off.
pub struct Switch {
    pub name: &'static str,
    pub what: &'static str,
}

/// SystemTap's own switch, allowed without guru mode as SystemTap allows it: with the overload
/// check off, each probe run is still bounded by MAXACTION (and timers by their 100 µs
/// minimum period), so what it gives up is the bound on their sum, not on any one run.
pub const SWITCHES: &[Switch] = &[Switch {
    name: "STP_NO_OVERLOAD",
    what: "switches the overload check off (STP_OVERLOAD_THRESHOLD, STP_OVERLOAD_INTERVAL)",
}];

/// The largest array: `global a[N]` and `-D MAXMAPENTRIES` alike.
pub const MAX_MAP_ENTRIES: i64 = 1 << 20;

pub fn limit(name: &str) -> Option<&'static Limit> {
    LIMITS.iter().find(|l| l.name == name)
}

/// A C identifier: what `-D` names and `-m` must be, since both reach C and make as they are.
pub fn is_c_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `-D` value: a decimal or 0x-hexadecimal integer, optionally negative.
fn parse_value(v: &str) -> Option<i64> {
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v),
    };
    let mag = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            i128::from_str_radix(h, 16).ok()?
        }
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse::<i128>().ok()?
        }
        None => return None,
    };
    i64::try_from(if neg { -mag } else { mag }).ok()
}

fn range_text(l: &Limit) -> String {
    format!("from {} to {}", l.min, l.max)
}

/// Checks `-D NAME=VALUE` settings and turns them into compiler definitions (`STP_NAME=VALUE`).
/// Names must be C identifiers and values integers, so nothing reaches the compiler, make or
/// the shell but a name and a number. Without guru mode only the limits above are accepted:
/// any other macro could change what the kernel's headers mean (`-D CONFIG_...`). A limit
/// given twice keeps its last value, as the compiler would, without the redefinition error.
pub fn defines(ds: &[(String, String)], guru: bool) -> Result<Vec<String>, String> {
    let mut out: Vec<(String, String)> = vec![];
    for (k, v) in ds {
        if !is_c_ident(k) {
            return Err(format!("-D {k}={v}: the name must be a C identifier"));
        }
        let value = if v.is_empty() {
            None
        } else {
            Some(parse_value(v).ok_or_else(|| {
                format!("-D {k}={v}: the value must be an integer (decimal or 0x hexadecimal)")
            })?)
        };
        if let Some(sw) = SWITCHES.iter().find(|sw| sw.name == k) {
            if value.is_some() {
                return Err(format!(
                    "-D {k}={v}: {k} takes no value: `-D {k}` {}",
                    sw.what
                ));
            }
            out.retain(|(n, _)| n != k);
            out.push((k.clone(), String::new()));
            continue;
        }
        let (name, value) = match (limit(k), value) {
            (Some(l), Some(n)) if n < l.min || n > l.max => {
                return Err(format!(
                    "-D {k}={v}: {k} must be {} ({})",
                    range_text(l),
                    l.what
                ));
            }
            (Some(l), Some(n)) => (l.macro_name(), n.to_string()),
            (Some(l), None) => {
                return Err(format!(
                    "-D {k}: {k} needs a value {} ({})",
                    range_text(l),
                    l.what
                ));
            }
            (None, _) if !guru => {
                let known: Vec<&str> = LIMITS.iter().map(|l| l.name).collect();
                let switches: Vec<&str> = SWITCHES.iter().map(|s| s.name).collect();
                return Err(format!(
                    "-D {k}: not a limit (they are {}) nor {}; other macros need guru mode (-g)",
                    known.join(", "),
                    switches.join(", ")
                ));
            }
            (None, n) => (k.clone(), n.map(|n| n.to_string()).unwrap_or_default()),
        };
        out.retain(|(n, _)| *n != name);
        out.push((name, value));
    }
    let value_of = |name: &str| -> i64 {
        let l = limit(name);
        let stp = l.map(|l| l.macro_name()).unwrap_or_default();
        out.iter()
            .find(|(n, _)| *n == stp)
            .and_then(|(_, v)| v.parse().ok())
            .or_else(|| l.map(|l| l.default))
            .unwrap_or(0)
    };
    let (bufsize, printbuf) = (value_of("BUFSIZE"), value_of("PRINTBUF"));
    if bufsize.count_ones() != 1 {
        return Err(format!(
            "-D BUFSIZE={bufsize}: BUFSIZE must be a power of two"
        ));
    }
    if printbuf > bufsize / 4 {
        return Err(format!(
            "PRINTBUF ({printbuf}) must be at most BUFSIZE / 4 ({}): with a smaller -D BUFSIZE, \
             give a smaller -D PRINTBUF too",
            bufsize / 4
        ));
    }
    let (threshold, interval) = (
        value_of("STP_OVERLOAD_THRESHOLD"),
        value_of("STP_OVERLOAD_INTERVAL"),
    );
    if threshold > interval {
        return Err(format!(
            "STP_OVERLOAD_THRESHOLD ({threshold}) must be at most STP_OVERLOAD_INTERVAL \
             ({interval}): probes cannot take more cycles than the window has (to switch the \
             check off, use -D STP_NO_OVERLOAD)"
        ));
    }
    Ok(out
        .into_iter()
        .map(|(k, v)| if v.is_empty() { k } else { format!("{k}={v}") })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn limits_in_range_become_definitions() {
        assert_eq!(
            defines(&[d("MAXACTION", "5000"), d("BUFSIZE", "0x8000")], false),
            Ok(vec![
                "STP_MAXACTION=5000".to_string(),
                "STP_BUFSIZE=32768".to_string()
            ])
        );
        // The last of two wins, as one definition.
        assert_eq!(
            defines(&[d("MAXNESTING", "3"), d("MAXNESTING", "4")], false),
            Ok(vec!["STP_MAXNESTING=4".to_string()])
        );
    }

    #[test]
    fn out_of_range_says_the_range() {
        let e = defines(&[d("MAXMAPENTRIES", "0")], false).unwrap_err();
        assert!(e.contains("from 1 to 1048576"), "{e}");
        let e = defines(&[d("MAXACTION", "-1")], false).unwrap_err();
        assert!(e.contains("from 1 to 1000000"), "{e}");
        assert!(defines(&[d("MAXACTION", "99999999999999999999")], false).is_err());
        assert!(defines(&[d("BUFSIZE", "5000")], false).is_err());
        assert!(defines(&[d("PRINTBUF", "32768")], false).is_err());
        assert!(defines(&[d("PRINTBUF", "32768"), d("BUFSIZE", "131072")], false).is_ok());
    }

    #[test]
    fn other_macros_need_guru_mode_and_integers() {
        assert!(defines(&[d("CONFIG_SMP", "0")], false).is_err());
        assert_eq!(
            defines(&[d("MY_FLAG", ""), d("N", "-3")], true),
            Ok(vec!["MY_FLAG".to_string(), "N=-3".to_string()])
        );
        for (k, v) in [
            ("A B", "1"),
            ("9A", "1"),
            ("X", "1 -include /etc/passwd"),
            ("X", "$(shell id)"),
            ("X", "0x"),
        ] {
            assert!(defines(&[d(k, v)], true).is_err(), "-D {k}={v}");
        }
    }

    #[test]
    fn overload_thresholds_and_the_switch() {
        assert_eq!(
            defines(
                &[
                    d("STP_OVERLOAD_THRESHOLD", "900000000"),
                    d("STP_NO_OVERLOAD", ""),
                    d("STP_NO_OVERLOAD", "")
                ],
                false
            ),
            Ok(vec![
                "STP_OVERLOAD_THRESHOLD=900000000".to_string(),
                "STP_NO_OVERLOAD".to_string()
            ])
        );
        // A value would read as "off" for 0 too (the runtime tests #ifdef): refused.
        let e = defines(&[d("STP_NO_OVERLOAD", "0")], false).unwrap_err();
        assert!(e.contains("takes no value"), "{e}");
        let e = defines(&[d("STP_OVERLOAD_THRESHOLD", "2000000000")], false).unwrap_err();
        assert!(e.contains("at most STP_OVERLOAD_INTERVAL"), "{e}");
        assert!(
            defines(
                &[
                    d("STP_OVERLOAD_THRESHOLD", "2000000000"),
                    d("STP_OVERLOAD_INTERVAL", "4000000000")
                ],
                false
            )
            .is_ok()
        );
        let e = defines(&[d("STP_OVERLOAD_INTERVAL", "1000")], false).unwrap_err();
        assert!(e.contains("from 1000000 to 10000000000"), "{e}");
        // The runtime's names are not limits of their own.
        assert!(defines(&[d("STP_MAXACTION", "5")], false).is_err());
        assert!(defines(&[d("OVERLOAD_THRESHOLD", "5")], false).is_err());
    }

    #[test]
    fn the_runtime_checks_the_same_ranges() {
        let h = include_str!("../runtime-c/stp_limits.h");
        for l in LIMITS {
            let want = format!("#if {n} < {} || {n} > {}", l.min, l.max, n = l.macro_name());
            assert!(h.contains(&want), "stp_limits.h should have `{want}`");
            let default = format!("#define {} {}", l.macro_name(), l.default);
            assert!(h.contains(&default), "stp_limits.h should have `{default}`");
        }
        assert!(h.contains("#if STP_OVERLOAD_THRESHOLD > STP_OVERLOAD_INTERVAL"));
        for sw in SWITCHES {
            let o = include_str!("../runtime-c/stp_overload.h");
            assert!(o.contains(&format!("#ifndef {}", sw.name)), "{}", sw.name);
        }
    }

    #[test]
    fn the_readme_gives_every_range() {
        let readme = include_str!("../README.md");
        for l in LIMITS {
            let row = format!("| `{}` | {} | {} to {} |", l.name, l.default, l.min, l.max);
            assert!(
                readme.contains(&row),
                "README.md should have the row `{row}`"
            );
        }
        for sw in SWITCHES {
            let row = format!("| `{}` | off | no value | {} |", sw.name, sw.what);
            assert!(
                readme.contains(&row),
                "README.md should have the row `{row}`"
            );
        }
    }
}
