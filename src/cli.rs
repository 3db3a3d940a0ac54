//! The command line, as SystemTap spells it where SystemTap has the option. Kept apart from
//! `main` so that the man page and shell completions are generated from the same definition.

use clap::{CommandFactory, Parser};

/// The man page, from the same definitions as `--help`.
pub fn man_page() -> String {
    let mut out = Vec::new();
    let _ = clap_mangen::Man::new(Cli::command()).render(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A completion script for one shell.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "stp-hwbp", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The longest `-T`: a year. Anything longer is surely a typo, and every duration the run
/// derives from it (the guest's own deadline adds to it) stays far from overflowing.
pub const MAX_TIMEOUT_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// `-T`: a positive, finite number of seconds up to a year (turning it into a `Duration`
/// panics on a negative, NaN or huge value, so nothing else may reach the run).
fn seconds(s: &str) -> Result<f64, String> {
    let accepted = format!(
        "expected a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS}, such as 10 or 0.5"
    );
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= MAX_TIMEOUT_SECONDS => Ok(v),
        _ => Err(accepted),
    }
}

/// `-G VAR=VALUE`: the `=` is required (an empty value is `VAR=`).
fn var_value(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.is_empty() => Ok(s.to_string()),
        _ => Err("expected VAR=VALUE, such as -G limit=5 or -G name=".to_string()),
    }
}

#[derive(Parser, Debug)]
#[command(
    allow_negative_numbers = true,
    name = "stp-hwbp",
    version,
    about = "Translate SystemTap-style scripts into kernel modules that set hardware watchpoints, build them, and run them",
    long_about = "stp-hwbp reads a script in a SystemTap-style probe language, checks it, writes C for a Linux kernel \
module that arms hardware watchpoints through the hw_breakpoint API, builds it with kbuild, loads it, streams its \
output and cleans up. Passes: 1 parse, 2 elaborate, 3 write C, 4 build the module, 5 run it.",
    after_help = "Exit status: 0 success, 1 errors in the script (or a run-time error), 2 usage, 3 environment (files, kernel trees, tools)."
)]
pub struct Cli {
    /// The script file ("-" for stdin), then its arguments ($1/@1, ...)
    #[arg(value_name = "SCRIPT [ARGS]")]
    pub rest: Vec<String>,
    /// Run the script given as text; all positional words are its arguments
    #[arg(short = 'e', value_name = "SCRIPT")]
    pub script: Option<String>,
    /// Stop after pass N (1 parse, 2 elaborate, 3 C, 4 build, 5 run) and print its result
    #[arg(short = 'p', value_name = "N", value_parser = clap::value_parser!(u8).range(1..=5))]
    pub pass: Option<u8>,
    /// Target kernel: a release under /lib/modules, or a build-tree directory
    #[arg(short = 'r', value_name = "KVER|DIR")]
    pub kernel: Option<String>,
    /// Target architecture: x86_64 or arm64 (also aarch64); default: the -r tree's, else the host's
    #[arg(short = 'a', value_name = "ARCH")]
    pub arch: Option<String>,
    /// Guru mode: allow embedded C in the script
    #[arg(short = 'g')]
    pub guru: bool,
    /// Set a limit of the module (MAXACTION=1000, MAXSTRINGLEN=128, ...: each has a range), or STP_NO_OVERLOAD; other macros need -g
    #[arg(short = 'D', value_name = "NAME=VALUE")]
    pub defines: Vec<String>,
    /// Add a directory of tapsets (*.stp)
    #[arg(short = 'I', value_name = "DIR")]
    pub include: Vec<String>,
    /// More output: pass timings (repeat for more)
    #[arg(short = 'v', action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Suppress warnings
    #[arg(short = 'w')]
    pub no_warnings: bool,
    /// Treat warnings as errors
    #[arg(short = 'W')]
    pub warnings_are_errors: bool,
    /// List the probe points matching PATTERN
    #[arg(short = 'l', value_name = "PATTERN")]
    pub list: Option<String>,
    /// List the probe points matching PATTERN with the context functions they offer
    #[arg(short = 'L', value_name = "PATTERN")]
    pub list_context: Option<String>,
    /// List the tapset functions with their signatures and the probes they may be called in
    #[arg(long = "dump-functions")]
    pub dump_functions: bool,
    /// List the probe point families (templates such as timer.ms(N))
    #[arg(long = "dump-probe-types")]
    pub dump_probe_types: bool,
    /// Module name
    #[arg(short = 'm', value_name = "NAME")]
    pub module: Option<String>,
    /// Keep the build directory and print its path (builds even when the module is cached)
    #[arg(short = 'k')]
    pub keep: bool,
    /// Neither use nor fill the module cache ($XDG_CACHE_HOME/stp-hwbp; STP_HWBP_CACHE_MAX bounds its size, 0 turns it off)
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Run CMD through /bin/sh -c; target() is its pid; the session ends when it exits
    #[arg(short = 'c', value_name = "CMD")]
    pub command: Option<String>,
    /// Set target() to PID
    #[arg(short = 'x', value_name = "PID", conflicts_with = "command")]
    pub target_pid: Option<i64>,
    /// Write the script's output to FILE
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<String>,
    /// End the session after SECONDS (a positive number, fractions allowed, at most a year)
    #[arg(short = 'T', value_name = "SECONDS", value_parser = seconds)]
    pub timeout: Option<f64>,
    /// Set a global variable when the module loads
    #[arg(short = 'G', value_name = "VAR=VALUE", value_parser = var_value)]
    pub set_globals: Vec<String>,
    /// Run inside a QEMU guest booting the target kernel (safe: the host kernel is untouched)
    #[arg(long = "vm")]
    pub vm: bool,
    /// Accepted for SystemTap compatibility; has no effect
    #[arg(long = "all-modules", hide = true)]
    pub all_modules: bool,
    /// With --vm: copy a host file into the guest (HOST:GUEST), for tests
    #[arg(long = "vm-file", value_name = "HOST:GUEST", hide = true)]
    pub vm_files: Vec<String>,
    /// With --vm: a shell command run in the guest before the script starts, for tests
    #[arg(long = "vm-setup", value_name = "CMD", hide = true)]
    pub vm_setup: Option<String>,
    /// With --vm: add ARG to the guest kernel's command line (e.g. no5lvl), for tests
    #[arg(long = "vm-kernel-arg", value_name = "ARG", hide = true)]
    pub vm_kernel_args: Vec<String>,
    /// Print the man page (roff), generated from these definitions
    #[arg(long = "print-man", hide = true)]
    pub print_man: bool,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[arg(long = "print-completions", value_name = "SHELL", hide = true)]
    pub print_completions: Option<clap_complete::Shell>,
    /// Run an already built module (as staprun does): MODULE.ko
    #[arg(long = "run-module", value_name = "MODULE.ko", hide = true)]
    pub run_module: Option<String>,
}
