//! What the loader does in user space for the module, as SystemTap's staprun does: it tells
//! the module the local time zone at load (`tz_ctime()`), and runs the commands `system()`
//! queued in the output stream.

#![allow(unsafe_code)]

use std::io::{self, Write};
use std::process::{Command, Stdio};

/// The module parameters that carry the local time zone: seconds west of UTC and the zone's
/// abbreviation, from the C library's view of `TZ` and /etc/localtime now.
pub fn tz_params() -> Vec<String> {
    // SAFETY: time(NULL) has no preconditions; localtime_r writes only into `tm`.
    let (off, name) = unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&now, &mut tm).is_null() {
            return vec![];
        }
        let name = if tm.tm_zone.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(tm.tm_zone)
                .to_string_lossy()
                .into_owned()
        };
        (-tm.tm_gmtoff, name)
    };
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-'))
        .take(15)
        .collect();
    let mut p = vec![format!("stp_tz_gmtoff={off}")];
    if !name.is_empty() {
        p.push(format!("stp_tz_name={name}"));
    }
    p
}

/// The marker that starts a `system()` request in the stream: a NUL byte, which no script
/// string can contain, so printed data cannot forge one.
pub const SYSTEM_PREFIX: &[u8] = b"\0SYSTEM: ";

/// Runs one `system()` command with `/bin/sh -c`, its output on the loader's stdout and
/// stderr after everything printed before it, and waits for it, so that the order of the
/// output is the order of the script's requests.
pub fn run_system(cmd: &[u8], out: &mut dyn Write) {
    let _ = out.flush();
    let _ = io::stderr().flush();
    let cmd = String::from_utf8_lossy(cmd).into_owned();
    match Command::new("/bin/sh")
        .arg("-c")
        .arg(&cmd)
        .stdin(Stdio::null())
        .status()
    {
        Ok(_) => {}
        Err(e) => eprintln!("WARNING: system(\"{cmd}\"): cannot run /bin/sh: {e}"),
    }
}
