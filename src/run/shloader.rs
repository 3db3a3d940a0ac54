//! The loader as a busybox shell script, for guests this binary cannot run in (arm64: the
//! toolchain here builds no Rust for aarch64). `--vm` on arm64 runs it as the guest's command.
//!
//! It does what `loader.rs` does, with the module's proc files (`/proc/stp_hwbp/NAME/out`
//! and `ctl`) and busybox alone:
//! 1. the `-c` command is started at once in a subshell held on a FIFO (so its pid is known
//!    for `stp_target`); `insmod` loads the module with the parameters computed on the host
//!    (`-G` globals, the time zone) plus `stp_target`; on failure the kernel log lines that name
//!    the module are printed as `ERROR: ...`, the held command is killed, status 1;
//! 2. reading `out` starts the session (the script's own shell opens it, so that `stp_pid()`
//!    is the loader and the `-c` command its child, as with the Rust loader); `ERROR: ` and `WARNING: ` lines go to stderr (`NOTE: `
//!    too with `-v`), `system()` requests run with `sh -c`, the rest to stdout; an `ERROR: `
//!    line makes the status 1. The shell cannot see the NUL byte that starts a request in the
//!    stream, so the module is given a key at load (`stp_system_key`, 16 random hex digits)
//!    and writes it into each request: printed data, which cannot know it, cannot forge one;
//! 3. once `ctl` leaves `starting`: `running` releases the command, anything else kills it;
//! 4. the command's exit, the `-T` expiry or SIGINT, SIGTERM or SIGHUP writes `exit` to `ctl`
//!    (a command still running is left running, as the Rust loader leaves it); then `out` is
//!    read to EOF and the module removed with `rmmod`. Should the script's shell be killed, a
//!    watchdog writes `exit` within 0.2 s and the module stops, loaded, as with the Rust loader.
//!
//! Function-probe wildcards are expanded against the guest's `/proc/kallsyms` (`KP_LIST`).
//! What it does not do: watched symbols are looked up by the module itself (it can, through
//! kallsyms), and output passes line by line (a last line without a newline gets one).

use super::modinfo::ModInfo;

use super::shell_quote as q;

/// The script that loads `guest_ko` (the module described by `info`) in the guest, as the
/// options say. Err: what the shell loader cannot do for this module.
pub fn script(
    info: &ModInfo,
    guest_ko: &str,
    opts: &super::loader::RunOptions,
) -> Result<String, String> {
    let name = info
        .name()
        .ok_or_else(|| "the module has no name= entry in .modinfo".to_string())?;
    if opts.command.is_some() && opts.target_pid.is_some() {
        return Err("-c and -x cannot be used together".into());
    }
    let mut params = super::loader::global_params(info, &opts.globals)?;
    if info.param_type("stp_tz_gmtoff").is_some() {
        params.extend(super::services::tz_params());
    }
    let params: Vec<String> = params.iter().map(|p| q(p)).collect();
    let target = info.param_type("stp_target").is_some();
    let mut s = String::new();
    s.push_str(&format!(
        "M={}; KO={}; P=/proc/stp_hwbp/$M; V={}; CMD={}; X={}; T={}; TARGET={}; SYSKEY={}\n",
        q(name),
        q(guest_ko),
        opts.verbose,
        q(opts.command.as_deref().unwrap_or("")),
        opts.target_pid.map(|p| p.to_string()).unwrap_or_default(),
        opts.timeout
            .map(|t| format!("{:.3}", t.as_secs_f64()))
            .unwrap_or_default(),
        u8::from(target),
        u8::from(info.param_type("stp_system_key").is_some()),
    ));
    s.push_str(&format!("set -- {}\n", params.join(" ")));
    let globs = info.kpglobs()?;
    if !globs.is_empty() {
        s.push_str(KP_LIST);
        // As the Rust loader: at most one name past MAXKPROBES, for the module to refuse.
        let keep = match info.kpmax()? {
            Some(m) => m.saturating_add(1).to_string(),
            None => String::new(),
        };
        for (n, module, pat) in &globs {
            s.push_str(&format!(
                "p=$(kp_list {n} {} {} {keep}) && set -- \"$@\" \"$p\"\n",
                q(&kallsyms_line_ere(pat, module.as_deref())),
                q(pat)
            ));
        }
    }
    s.push_str(SCRIPT);
    Ok(s)
}

/// The `/proc/kallsyms` lines of text symbols whose names match a function probe's wildcard,
/// in `module` or (None) in the kernel proper, as a POSIX extended regular expression.
fn kallsyms_line_ere(pat: &str, module: Option<&str>) -> String {
    let name = glob_to_ere(pat);
    let tail = match module {
        Some(m) => {
            let lit: String = m
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c.to_string()
                    } else {
                        format!("[{c}]")
                    }
                })
                .collect();
            format!("[[:space:]]+[[]{lit}[]]")
        }
        None => String::new(),
    };
    format!("^[0-9a-f]+ [tT] {name}{tail}$")
}

/// A function probe's wildcard (`fnmatch`: `*`, `?`, `[...]` with `!` or `^`) as a POSIX
/// extended regular expression.
fn glob_to_ere(pat: &str) -> String {
    let mut re = String::new();
    let mut chars = pat.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // Within the name: never across the blank before a module's name.
            '*' => re.push_str("[^[:space:]]*"),
            '?' => re.push_str("[^[:space:]]"),
            '[' => {
                // A class runs to the first `]` after its first member; without one, `[` is
                // itself (as `functions::matches` has it).
                let rest: String = chars.clone().collect();
                let neg = rest.starts_with(['!', '^']);
                let body = &rest[usize::from(neg)..];
                match body.char_indices().skip(1).find(|&(_, c)| c == ']') {
                    Some((end, _)) => {
                        re.push('[');
                        if neg {
                            re.push('^');
                        }
                        for m in body[..end].chars() {
                            // Inside a bracket expression only `\` needs care in awk.
                            if m == '\\' {
                                re.push_str("\\\\");
                            } else {
                                re.push(m);
                            }
                        }
                        if neg {
                            re.push_str("[:space:]");
                        }
                        re.push(']');
                        for _ in 0..usize::from(neg) + end + 1 {
                            chars.next();
                        }
                    }
                    None => re.push_str("\\["),
                }
            }
            c if c.is_ascii_alphanumeric() || c == '_' => re.push(c),
            c => {
                re.push('\\');
                re.push(c);
            }
        }
    }
    re
}

/// `kp_list N LINE_ERE PATTERN [KEEP]`: prints `stp_kp_list_N=...` (and fails when nothing
/// matches: nothing is passed, and the module says so), the first KEEP (all without it) of
/// the functions of `/proc/kallsyms`
/// whose lines match LINE_ERE (`kallsyms_line_ere`), as the Rust loader's `functions::expand`
/// picks them: no compiler-made symbols (`__pfx_`, names with a dot), none on the kprobe
/// blacklist, and only ftrace-traceable ones where tracefs can be read. grep narrows each
/// file to the candidates first: busybox awk over all of kallsyms takes 17 s under TCG.
const KP_LIST: &str = r#"kp_list() {
	bl=/sys/kernel/debug/kprobes/blacklist; tf=/sys/kernel/tracing/available_filter_functions
	[ -r $tf ] || tf=/sys/kernel/debug/tracing/available_filter_functions
	h=1; [ -r $tf ] || { tf=/dev/null; h=0; }
	[ -r $bl ] || bl=/dev/null
	grep -E "$2" /proc/kallsyms | cut -d' ' -f3 | cut -f1 | grep -v -e '^__pfx_' -e '[.]' |
		sort -u > /tmp/stphwbp.kpc
	cut -f2 $bl | grep -xF -f /tmp/stphwbp.kpc > /tmp/stphwbp.kpd
	cut -d' ' -f1 $tf | grep -xF -f /tmp/stphwbp.kpc > /tmp/stphwbp.kpt
	awk -v h=$h 'FILENAME == ARGV[1] { d[$1] = 1; next }
		FILENAME == ARGV[2] { ok[$1] = 1; next }
		!($1 in d) && (h == 0 || ($1 in ok)) { print $1 }' \
		/tmp/stphwbp.kpd /tmp/stphwbp.kpt /tmp/stphwbp.kpc > /tmp/stphwbp.kpl
	[ "$V" -gt 0 ] && echo "Pass 5: $3 matches $(($(wc -l < /tmp/stphwbp.kpl))) functions" >&2
	if [ -n "$4" ]; then l=$(head -n "$4" /tmp/stphwbp.kpl | tr '\n' ,); else l=$(tr '\n' , < /tmp/stphwbp.kpl); fi
	l=${l%,}
	[ -n "$l" ] && echo "stp_kp_list_$1=$l"
}
"#;

/// The fixed part; the variables and the parameters ($@) come first.
const SCRIPT: &str = r#"E=/tmp/stphwbp.error; rm -f $E
child=
if [ -n "$CMD" ]; then
	rm -f /tmp/stphwbp.go; mkfifo /tmp/stphwbp.go
	( IFS= read -r g < /tmp/stphwbp.go; [ "$g" = go ] || exit 126; exec /bin/sh -c "$CMD" ) &
	child=$!
	X=$child
fi
[ -n "$X" ] && [ "$TARGET" = 1 ] && set -- "$@" "stp_target=$X"
K=
if [ "$SYSKEY" = 1 ]; then
	K=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
	set -- "$@" "stp_system_key=$K"
fi
n=$(dmesg | wc -l)
if ! insmod "$KO" "$@" 2>/dev/null; then
	dmesg | tail -n +$((n + 1)) | grep -E "$M|stp_hwbp" |
		sed "s/^\[[^]]*\] *//; s/^stp_hwbp: //; s/^$M: //; s/^ERROR: //; s/^/ERROR: /" |
		awk '!seen[$0]++' > /tmp/stphwbp.log
	[ -s /tmp/stphwbp.log ] || echo "ERROR: cannot load $M" > /tmp/stphwbp.log
	cat /tmp/stphwbp.log >&2
	[ -n "$child" ] && kill $child
	exit 1
fi
trap 'echo exit > $P/ctl 2>/dev/null' INT TERM HUP
exec 3<$P/out
cat <&3 | tr -d '\000' | while IFS= read -r l || [ -n "$l" ]; do
	case "$l" in
	"SYSTEM $K: "*)
		if [ -n "$K" ]; then sh -c "${l#"SYSTEM $K: "}" </dev/null; else printf '%s\n' "$l"; fi ;;
	"ERROR: "*) : > $E; printf '%s\n' "$l" >&2 ;;
	"WARNING: "*) printf '%s\n' "$l" >&2 ;;
	"NOTE: "*) [ "$V" -gt 0 ] && printf '%s\n' "$l" >&2 ;;
	*) printf '%s\n' "$l" ;;
	esac
done &
reader=$!
exec 3<&-
# The reader is a process of its own, so the module cannot see this shell die: a watchdog
# ends the session if it is killed (SIGKILL included), as the Rust loader's closing of out does.
( while kill -0 $$ 2>/dev/null; do sleep 0.2; done; echo exit > $P/ctl ) 2>/dev/null &
watchdog=$!
# -T counts from the attach, as the Rust loader's does: a session that never leaves
# `starting` ends on time too.
timer=
if [ -n "$T" ]; then
	( sleep $T; echo exit > $P/ctl ) 2>/dev/null &
	timer=$!
fi
while :; do
	st=$(cat $P/ctl 2>/dev/null)
	case "$st" in "state=starting"*) sleep 0.02 ;; *) break ;; esac
done
case "$st" in
"state=running"*)
	if [ -n "$child" ]; then
		echo go > /tmp/stphwbp.go
		wait $child
		echo exit > $P/ctl 2>/dev/null
	fi ;;
*)
	[ -n "$child" ] && kill $child 2>/dev/null ;;
esac
wait $reader
[ -n "$timer" ] && kill $timer 2>/dev/null
kill $watchdog 2>/dev/null
if ! rmmod "$M"; then
	echo "ERROR: cannot remove module $M" >&2
	exit 1
fi
[ -e $E ] && exit 1
exit 0
"#;

#[cfg(test)]
mod tests {
    use super::{glob_to_ere, kallsyms_line_ere};

    #[test]
    fn wildcards_become_eres() {
        assert_eq!(glob_to_ere("vfs_*"), "vfs_[^[:space:]]*");
        assert_eq!(
            glob_to_ere("proc_dointvec_m?nmax"),
            "proc_dointvec_m[^[:space:]]nmax"
        );
        assert_eq!(glob_to_ere("do_[a-c]x"), "do_[a-c]x");
        assert_eq!(glob_to_ere("do_[!a-c]x"), "do_[^a-c[:space:]]x");
        assert_eq!(glob_to_ere("[]x]"), "[]x]");
        assert_eq!(glob_to_ere("a[b"), "a\\[b");
        assert_eq!(glob_to_ere("a.b+c"), "a\\.b\\+c");
    }

    /// The expressions match kallsyms lines as `functions::expand` does, checked with the
    /// host's grep -E (busybox's in the guest is POSIX too).
    #[test]
    fn kallsyms_lines_match_as_the_loader_matches() {
        let ks = "ffff800080010000 T vfs_read\n\
                  ffff800080010100 t vfs_readv\n\
                  ffff800080010200 D vfs_read_data\n\
                  ffff800080010300 T xvfs_read\n\
                  ffff800080010400 T vfs_read\t[ext4]\n\
                  ffff800080010500 t ext4_file_read_iter\t[ext4]\n";
        let grep = |re: &str| -> Vec<String> {
            let o = std::process::Command::new("grep")
                .args(["-E", re])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(ks.as_bytes())?;
                    c.wait_with_output()
                })
                .expect("grep");
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.split_whitespace().nth(2).unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(
            grep(&kallsyms_line_ere("vfs_read*", None)),
            ["vfs_read", "vfs_readv"]
        );
        assert_eq!(grep(&kallsyms_line_ere("vfs_rea?", None)), ["vfs_read"]);
        assert_eq!(
            grep(&kallsyms_line_ere("*read*", Some("ext4"))),
            ["vfs_read", "ext4_file_read_iter"]
        );
        assert_eq!(
            grep(&kallsyms_line_ere("*read*", Some("ext?"))),
            Vec::<String>::new()
        );
    }
}
