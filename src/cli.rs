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

#[derive(Parser, Debug, Default, PartialEq)]
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

/// The command lines people type (`-p3 -r KVER script.stp`, `-v -e 'probe ...'`, ...) parsed
/// by hand: building clap's definition of the command line and matching it was a third of the
/// instructions of a one-probe `-p3` run. Anything this does not take as certainly valid and
/// meaning the same to clap gives `None`, and clap parses the line: `--help`, `--version`,
/// every usage error and the rarer spellings (`--opt=value`, `-p=3`, `--`, values starting
/// with `-`, repeated single options, text that is not UTF-8) keep clap's behaviour and
/// messages exactly. A unit test checks, over thousands of generated lines, that every line
/// taken here gives what clap gives.
pub fn parse_common(args: &[std::ffi::OsString]) -> Option<Cli> {
    let mut cli = Cli::default();
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        if let Some(long) = word.strip_prefix("--") {
            long_option(&mut cli, long, &mut words)?;
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            short_options(&mut cli, shorts, &mut words)?;
        } else {
            cli.rest.push(word.to_string());
        }
    }
    // -c and -x exclude each other: clap says so.
    if cli.command.is_some() && cli.target_pid.is_some() {
        return None;
    }
    Some(cli)
}

type Words<'a> = std::iter::Skip<std::slice::Iter<'a, std::ffi::OsString>>;

/// The next word as an option's value, when clap would surely take it as one.
fn next_value(words: &mut Words) -> Option<String> {
    let v = words.next()?.to_str()?;
    (!v.is_empty() && !v.starts_with('-')).then(|| v.to_string())
}

/// A flag given once; a second time is clap's error.
fn set_flag(flag: &mut bool) -> Option<()> {
    (!std::mem::replace(flag, true)).then_some(())
}

/// One more value of an option that may be given many times.
fn add(list: &mut Vec<String>, value: String) -> Option<()> {
    list.push(value);
    Some(())
}

/// A single-valued option given once.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.replace(value).is_none().then_some(())
}

fn long_option(cli: &mut Cli, name: &str, words: &mut Words) -> Option<()> {
    match name {
        "no-cache" => set_flag(&mut cli.no_cache),
        "vm" => set_flag(&mut cli.vm),
        "all-modules" => set_flag(&mut cli.all_modules),
        "dump-functions" => set_flag(&mut cli.dump_functions),
        "dump-probe-types" => set_flag(&mut cli.dump_probe_types),
        "vm-file" => add(&mut cli.vm_files, next_value(words)?),
        "vm-kernel-arg" => add(&mut cli.vm_kernel_args, next_value(words)?),
        "vm-setup" => set_once(&mut cli.vm_setup, next_value(words)?),
        "run-module" => set_once(&mut cli.run_module, next_value(words)?),
        // --help, --version, --print-*, `--`, `--name=value` and the unknown: clap's.
        _ => None,
    }
}

/// One word of short options: flags (`-gv`), ending in at most one option that takes a value,
/// which is the rest of the word (`-p3`) or the next word (`-p 3`).
fn short_options(cli: &mut Cli, shorts: &str, words: &mut Words) -> Option<()> {
    for (i, c) in shorts.char_indices() {
        match c {
            'g' => set_flag(&mut cli.guru)?,
            'w' => set_flag(&mut cli.no_warnings)?,
            'W' => set_flag(&mut cli.warnings_are_errors)?,
            'k' => set_flag(&mut cli.keep)?,
            'v' => cli.verbose = cli.verbose.checked_add(1)?,
            _ => {
                let rest = &shorts[i + c.len_utf8()..];
                let value = if rest.is_empty() {
                    next_value(words)?
                } else if rest.starts_with('=') {
                    return None;
                } else {
                    rest.to_string()
                };
                return short_value(cli, c, value);
            }
        }
    }
    Some(())
}

fn short_value(cli: &mut Cli, option: char, v: String) -> Option<()> {
    match option {
        'e' => set_once(&mut cli.script, v),
        'p' => match v.as_str() {
            "1" | "2" | "3" | "4" | "5" => set_once(&mut cli.pass, v.parse().ok()?),
            _ => None,
        },
        'r' => set_once(&mut cli.kernel, v),
        'a' => set_once(&mut cli.arch, v),
        'D' => add(&mut cli.defines, v),
        'I' => add(&mut cli.include, v),
        'l' => set_once(&mut cli.list, v),
        'L' => set_once(&mut cli.list_context, v),
        'm' => set_once(&mut cli.module, v),
        'c' => set_once(&mut cli.command, v),
        'x' if v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit()) => {
            set_once(&mut cli.target_pid, v.parse().ok()?)
        }
        'o' => set_once(&mut cli.output, v),
        'T' => set_once(&mut cli.timeout, seconds(&v).ok()?),
        'G' => add(&mut cli.set_globals, var_value(&v).ok()?),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn line(words: &[&str]) -> Vec<OsString> {
        std::iter::once("stp-hwbp")
            .chain(words.iter().copied())
            .map(OsString::from)
            .collect()
    }

    /// Every line the hand parser takes, clap takes the same way.
    fn agrees(words: &[&str]) -> bool {
        let args = line(words);
        let Some(ours) = parse_common(&args) else {
            return false;
        };
        match Cli::try_parse_from(&args) {
            Ok(theirs) => assert_eq!(ours, theirs, "{words:?}"),
            Err(e) => panic!("{words:?}: taken by hand, refused by clap: {e}"),
        }
        true
    }

    #[test]
    fn the_usual_lines_are_parsed_by_hand_as_clap_parses_them() {
        for words in [
            &["-p3", "-r", "6.1.0-56-amd64", "one.stp"][..],
            &[
                "-p",
                "4",
                "--no-cache",
                "-r",
                "/lib/modules/x/build",
                "s.stp",
                "a",
                "b",
            ],
            &["-v", "-e", "probe begin { exit() }"],
            &[
                "-vvp3",
                "-gw",
                "-DMAXACTION=10",
                "-D",
                "X=1",
                "-I",
                "dir",
                "s.stp",
            ],
            &[
                "--vm", "-r6.12", "-T", "0.5", "-G", "n=", "-x", "12", "s.stp", "x",
            ],
            &[
                "-c", "ls /", "-o", "out.txt", "-m", "mod_1", "-k", "-W", "-a", "arm64", "-",
            ],
            &[
                "--vm-file",
                "a:b",
                "--vm-setup",
                "echo",
                "--vm-kernel-arg",
                "no5lvl",
                "s",
            ],
            &[
                "--run-module",
                "m.ko",
                "-l",
                "kernel.data(*)",
                "-L",
                "timer.*",
            ],
            &["--dump-functions", "--dump-probe-types", "--all-modules"],
            &[],
        ] {
            assert!(agrees(words), "{words:?} went to clap");
        }
    }

    #[test]
    fn help_errors_and_rare_spellings_go_to_clap() {
        for words in [
            &["--help"][..],
            &["-h"],
            &["-V"],
            &["--version"],
            &["-p6", "s"],
            &["-p=3", "s"],
            &["-p"],
            &["-g", "-g"],
            &["-r", "a", "-r", "b"],
            &["-c", "ls", "-x", "1"],
            &["-T", "-1"],
            &["-G", "x"],
            &["--vm-file=a:b"],
            &["--", "-x"],
            &["s.stp", "-5"],
            &["-q"],
            &["--print-man"],
            &["--print-completions", "bash"],
        ] {
            assert!(
                parse_common(&line(words)).is_none(),
                "{words:?} taken by hand"
            );
        }
    }

    /// Thousands of lines drawn from options, values and words (valid, invalid and odd): where
    /// the hand parser takes one, clap must take it and give the same result.
    #[test]
    fn generated_lines_agree_with_clap() {
        const POOL: &[&str] = &[
            "-p3",
            "-p",
            "3",
            "5",
            "-p6",
            "-p=3",
            "-r",
            "6.1",
            "-r6.1",
            "-v",
            "-vv",
            "-g",
            "-gv",
            "-vp3",
            "-e",
            "probe begin {}",
            "s.stp",
            "a1",
            "-5",
            "-",
            "--",
            "--vm",
            "--no-cache",
            "--vm-file",
            "a:b",
            "--vm-file=a:b",
            "-D",
            "X=1",
            "-DX=1",
            "-G",
            "n=",
            "-Gn=1",
            "=x",
            "-x",
            "12",
            "-x-1",
            "+3",
            "-c",
            "ls",
            "-T",
            "0.5",
            "-T1e9",
            "-k",
            "-w",
            "-W",
            "-I",
            "dir",
            "-o",
            "f",
            "-m",
            "-a",
            "arm64",
            "-h",
            "--help",
            "-V",
            "--run-module",
            "--vm-setup",
            "--vm-kernel-arg",
            "-l",
            "-L",
            "--dump-functions",
            "--all-modules",
            "--print-man",
            "-q",
            "",
            "-pp",
            "-é",
            "é",
            " 2 ",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut taken = 0;
        for _ in 0..20_000 {
            let len = next(7);
            let words: Vec<&str> = (0..len).map(|_| POOL[next(POOL.len())]).collect();
            taken += usize::from(agrees(&words));
        }
        // The comparison means something only if many lines were taken by hand.
        assert!(taken > 2000, "only {taken} lines taken by hand");
    }
}
