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
//! 4. the command's exit or the `-T` expiry writes `exit` to `ctl`; then `out` is read to EOF
//!    and the module removed with `rmmod`.
//!
//! What it does not do: watched symbols are looked up by the module itself (it can, through
//! kallsyms), function-probe wildcards are not expanded (a script with one is refused on the
//! host), and output passes line by line (a last line without a newline gets one).

use super::modinfo::ModInfo;

/// Quotes a word for the shell.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

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
    if !info.kpglobs()?.is_empty() {
        return Err(
            "function probe wildcards need the loader's /proc/kallsyms matching, which arm64 guests do not have yet: name the functions"
                .into(),
        );
    }
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
    s.push_str(SCRIPT);
    Ok(s)
}

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
while :; do
	st=$(cat $P/ctl 2>/dev/null)
	case "$st" in "state=starting"*) sleep 0.02 ;; *) break ;; esac
done
timer=
if [ -n "$T" ]; then
	( sleep $T; echo exit > $P/ctl ) 2>/dev/null &
	timer=$!
fi
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
if ! rmmod "$M"; then
	echo "ERROR: cannot remove module $M" >&2
	exit 1
fi
[ -e $E ] && exit 1
exit 0
"#;
