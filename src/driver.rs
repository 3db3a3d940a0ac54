//! The driver: runs the passes in order for one invocation, checks for errors between them,
//! prints the dump of the last pass asked for (`-p N`), and times each pass (`-v`).

use crate::backend::c::sink::Bytes;
use crate::diag::{Diags, Loc, Origin, Severity, SourceMap};
use crate::ir::Module;
use crate::kbuild::tree::{self, KernelTree};
use crate::sema;
use crate::syntax::name::Name;
use crate::syntax::{self, ast, preprocess::PpEnv};
use crate::target::Arch;
use std::io::Write as _;
use std::time::Instant;

/// Everything the passes need from the command line.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub script_file: Option<String>,
    pub script_text: Option<String>,
    pub args: Vec<String>,
    pub last_pass: u8,
    pub kernel: Option<String>,
    /// `-a`: the target architecture, when named (else the `-r` tree's, else the host's).
    pub arch: Option<Arch>,
    pub guru: bool,
    pub defines: Vec<(String, String)>,
    pub include_dirs: Vec<String>,
    pub verbose: u8,
    pub no_warnings: bool,
    pub warnings_are_errors: bool,
    pub module_name: Option<String>,
    pub keep_build_dir: bool,
    /// `--no-cache`: pass 4 neither reads nor writes the module cache.
    pub no_cache: bool,
    pub run: RunCfg,
}

/// Pass 5's options.
#[derive(Debug, Clone, Default)]
pub struct RunCfg {
    pub command: Option<String>,
    pub target_pid: Option<i64>,
    pub output: Option<String>,
    pub timeout: Option<f64>,
    pub globals: Vec<(String, String)>,
    pub vm: bool,
    pub vm_files: Vec<String>,
    pub vm_setup: Option<String>,
    pub vm_kernel_args: Vec<String>,
}

/// Exit codes: 0 success, 1 errors in the script, 2 usage, 3 the environment (files, kernel
/// trees, tools) failed.
pub const EXIT_SCRIPT: i32 = 1;
pub const EXIT_ENV: i32 = 3;

/// A lazily-found kernel tree for the preprocessor and pass 4.
pub struct Kernel {
    pub request: Option<String>,
    /// `-a`, which also picks where a release name is looked up.
    pub arch: Option<Arch>,
    found: Option<Result<KernelTree, String>>,
    /// The target tree's `.config`, read the first time an option is asked for.
    config: Option<Result<Vec<u8>, String>>,
}

impl Kernel {
    pub fn new(request: Option<String>, arch: Option<Arch>) -> Kernel {
        Kernel {
            request,
            arch,
            found: None,
            config: None,
        }
    }
    pub fn tree(&mut self) -> Result<&KernelTree, String> {
        if self.found.is_none() {
            self.found = Some(tree::find(self.request.as_deref(), self.arch));
        }
        self.found
            .as_ref()
            .expect("just set")
            .as_ref()
            .map_err(|e| e.clone())
    }

    /// The architecture every pass targets: `-a`, else that of the tree `-r` names (the
    /// host's when it cannot be found: pass 4 then says why), else the host's.
    pub fn target_arch(&mut self) -> Arch {
        match (self.arch, &self.request) {
            (Some(a), _) => a,
            (None, Some(_)) => self.tree().map(|t| t.arch).unwrap_or_else(|_| Arch::host()),
            (None, None) => Arch::host(),
        }
    }
}

struct Env<'a> {
    args: &'a [String],
    guru: bool,
    kernel: &'a mut Kernel,
}

impl PpEnv for Env<'_> {
    fn args(&self) -> &[String] {
        self.args
    }
    fn guru(&self) -> bool {
        self.guru
    }
    fn arch(&mut self) -> &'static str {
        self.kernel.target_arch().name()
    }
    fn kernel_release(&mut self) -> Result<String, String> {
        self.kernel.tree().map(|t| t.release.clone())
    }
    fn kernel_config(&mut self, name: &str) -> Result<String, String> {
        if self.kernel.config.is_none() {
            let c = self.kernel.tree().and_then(|t| t.config());
            self.kernel.config = Some(c);
        }
        match self.kernel.config.as_ref().expect("just set") {
            // The value as the line has it: SystemTap keeps a string's quotes.
            Ok(c) => Ok(crate::kbuild::tree::config_get(c, name)
                .map(str::to_string)
                .unwrap_or_default()),
            Err(e) => Err(e.clone()),
        }
    }
}

/// The state of one run through the passes.
pub struct Session {
    pub cfg: Config,
    pub sm: SourceMap,
    pub diags: Diags,
    pub kernel: Kernel,
    timings: Vec<(String, u128)>,
    /// The `.stpm` macro library, read once.
    /// Shared, not cloned, by the script's parse and the tapsets': a copy of every macro
    /// body was 3% of a one-probe run's instructions.
    macros: Option<std::rc::Rc<syntax::macros::Library>>,
}

pub enum Stop {
    /// Errors in the script, already collected in `diags`.
    Script,
    /// An environment problem, with its message.
    Env(String),
    /// The module did not build: the script's embedded C (or the translator) is at fault,
    /// so this exits as a script error.
    Build(String),
}

impl Session {
    pub fn new(cfg: Config) -> Session {
        let kernel = Kernel::new(cfg.kernel.clone(), cfg.arch);
        Session {
            cfg,
            sm: SourceMap::default(),
            diags: Diags::default(),
            kernel,
            timings: vec![],
            macros: None,
        }
    }

    fn time<T>(&mut self, what: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let t = Instant::now();
        let r = f(self);
        self.timings
            .push((what.to_string(), t.elapsed().as_millis()));
        if self.cfg.verbose > 0 {
            eprintln!("{what} in {} ms", t.elapsed().as_millis());
        }
        r
    }

    /// Diagnostics rendered, honouring -w and -W.
    pub fn render_diags(&mut self) -> String {
        if self.cfg.warnings_are_errors {
            for d in &mut self.diags.list {
                d.severity = Severity::Error;
            }
        }
        let shown: Vec<_> = self
            .diags
            .list
            .iter()
            .filter(|d| !(self.cfg.no_warnings && d.severity == Severity::Warning))
            .cloned()
            .collect();
        self.sm.render(&shown)
    }

    fn check(&self) -> Result<(), Stop> {
        let warn_errs = self.cfg.warnings_are_errors && !self.diags.list.is_empty();
        if self.diags.has_errors() || warn_errs {
            Err(Stop::Script)
        } else {
            Ok(())
        }
    }

    /// Pass 1.
    pub fn parse(&mut self) -> Result<ast::Script, Stop> {
        let (name, bytes, origin) = match (&self.cfg.script_text, &self.cfg.script_file) {
            (Some(t), _) => (
                "<command line>".to_string(),
                t.clone().into_bytes(),
                Origin::CommandLine,
            ),
            (None, Some(f)) if f == "-" => {
                let mut s = vec![];
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut s)
                    .map_err(|e| Stop::Env(format!("cannot read the script from stdin: {e}")))?;
                ("<stdin>".to_string(), s, Origin::Script)
            }
            (None, Some(f)) => {
                let bytes =
                    std::fs::read(f).map_err(|e| Stop::Env(format!("cannot read {f}: {e}")))?;
                (f.clone(), bytes, Origin::Script)
            }
            (None, None) => {
                return Err(Stop::Env(
                    "no script given (name a file, or use -e 'SCRIPT')".into(),
                ));
            }
        };
        // Bytes that are not UTF-8 are the lexer's to judge (a comment or a string may hold
        // them), but not in a binary file.
        let (text, stray) = match syntax::text::decode(bytes) {
            Ok(t) => t,
            Err(bytes) => {
                // Where, but not the line itself: the line of a binary file is bytes a
                // terminal would take as control codes.
                let at = std::str::from_utf8(&bytes)
                    .err()
                    .map_or(0, |e| e.valid_up_to());
                let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
                let line = 1 + memchr::memchr_iter(b'\n', &bytes[..at]).count();
                // In characters, as every other column: the line is valid up to `at`.
                let col = 1 + String::from_utf8_lossy(&bytes[line_start..at])
                    .chars()
                    .count();
                self.diags.push(
                    crate::diag::Diag::error(
                        crate::diag::codes::INPUT,
                        Loc::Synthesized,
                        format!(
                            "{name}:{line}:{col}: the script is not valid UTF-8 text (byte 0x{:02x})",
                            bytes.get(at).copied().unwrap_or(0)
                        ),
                    )
                    .help("is this a binary file? (it has NUL bytes)"),
                );
                return Err(Stop::Script);
            }
        };
        let lib = self.macros_for(&text)?;
        let file = self.sm.add(name, text, origin);
        self.sm.set_stray(file, stray);
        let args = self.cfg.args.clone();
        let guru = self.cfg.guru;
        let script = self.time("Pass 1: parsed the script", |s| {
            let mut env = Env {
                args: &args,
                guru,
                kernel: &mut s.kernel,
            };
            syntax::parse_file(&s.sm, file, &mut env, &lib, &mut s.diags)
        });
        let mut script = script;
        // The parser's vector grew by doubling; pass 2 holds it while it lowers the probes.
        script.items.shrink_to_fit();
        if script.items.is_empty() && !self.diags.has_errors() {
            let at = Loc::CommandLine(self.sm.name(file).to_string());
            self.diags.push(syntax::no_probes(at));
        }
        self.check()?;
        Ok(script)
    }

    /// The macros a file of text `text` sees. The library is read and parsed only for a text
    /// that may invoke a macro: a third of a one-probe run's instructions were parsing the
    /// embedded library for a script that names none. With `-I` directories it always is,
    /// so that their `.stpm` files' errors are reported whatever the script holds.
    fn macros_for(&mut self, text: &str) -> Result<std::rc::Rc<syntax::macros::Library>, Stop> {
        if self.cfg.include_dirs.is_empty() && !syntax::tokens::needs_token_passes(text) {
            return Ok(std::rc::Rc::default());
        }
        self.macro_library()
    }

    /// The macros every file sees: those of the `.stpm` macro libraries (embedded, then `-I`
    /// directories).
    fn macro_library(&mut self) -> Result<std::rc::Rc<syntax::macros::Library>, Stop> {
        if let Some(lib) = &self.macros {
            return Ok(lib.clone());
        }
        let sources = sema::tapsets::macro_sources(&self.cfg.include_dirs)
            .map_err(|e| Stop::Env(format!("cannot read the -I tapset directories: {e}")))?;
        let mut lib = syntax::macros::Library::default();
        for (name, text) in sources {
            let f = self.sm.add(name, text, Origin::Tapset);
            syntax::define_macros(&self.sm, f, &mut lib, &mut self.diags);
        }
        let lib = std::rc::Rc::new(lib);
        self.macros = Some(lib.clone());
        Ok(lib)
    }

    /// The tapsets (embedded, then `-I` directories), parsed as scripts with embedded C
    /// allowed: all of them (`script` None), or those a script may need. An embedded tapset
    /// is parsed only when something it declares (`sema::tapsets::embedded_declares`, indexed
    /// at build time) has been interned as a `Name`: every name the script or a tapset parsed
    /// so far uses is one, and so are their other words, strings and C, which can only make
    /// a tapset parsed that was not needed (its unused declarations are then left out, as
    /// those of any tapset). Walking the script's syntax trees for the names it uses instead
    /// was 3% of `-p3` of a generated 3,200-line script. `-I` tapsets are always parsed.
    /// Their order stays the sources'.
    fn parse_tapsets(&mut self, script: Option<&ast::Script>) -> Result<Vec<ast::Script>, Stop> {
        let sources = sema::tapsets::sources(&self.cfg.include_dirs)
            .map_err(|e| Stop::Env(format!("cannot read the -I tapset directories: {e}")))?;
        let declares: Vec<Option<&[&str]>> = sources
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                script?;
                (i < sema::tapsets::EMBEDDED.len())
                    .then(|| sema::tapsets::embedded_declares(name))
                    .flatten()
            })
            .collect();
        let mut parsed: Vec<Option<ast::Script>> = sources.iter().map(|_| None).collect();
        let mut sources: Vec<Option<sema::tapsets::Source>> =
            sources.into_iter().map(Some).collect();
        loop {
            let mut progress = false;
            for i in 0..sources.len() {
                let needed = match (&sources[i], &declares[i]) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(_), Some(names)) => Name::any_exists(names),
                };
                let Some((name, text)) = sources[i].take_if(|_| needed) else {
                    continue;
                };
                let lib = self.macros_for(&text)?;
                let f = self.sm.add(name, text, Origin::Tapset);
                let mut env = Env {
                    args: &[],
                    guru: true,
                    kernel: &mut self.kernel,
                };
                let ts = syntax::parse_file(&self.sm, f, &mut env, &lib, &mut self.diags);
                parsed[i] = Some(ts);
                progress = true;
            }
            if !progress {
                break;
            }
        }
        Ok(parsed.into_iter().flatten().collect())
    }

    /// Pass 2.
    /// Pass 2, which consumes the script (its syntax trees are freed as their IR is made).
    pub fn elaborate(&mut self, script: ast::Script) -> Result<Module, Stop> {
        let first_file = script.items.first().map(|i| i.span().file);
        let m = self.time("Pass 2: elaborated the script", |s| {
            let tapsets = s.parse_tapsets(Some(&script))?;
            let arch = s.kernel.target_arch();
            Ok(sema::elaborate(script, &tapsets, arch, &mut s.diags))
        })?;
        if self.cfg.verbose > 0 {
            for (point, why) in &m.left_out {
                eprintln!("NOTE: optional probe {point} left out: {why}");
            }
        }
        // After alias expansion: a script of alias definitions alone has no probes, nor
        // one whose every point was optional and left out.
        if m.probes.is_empty() && !self.diags.has_errors() {
            let name = first_file
                .map(|f| self.sm.name(f).to_string())
                .unwrap_or_default();
            let mut d = syntax::no_probes(Loc::CommandLine(name));
            if !m.left_out.is_empty() {
                d = d.note(format!(
                    "every probe's points were optional and of kinds stp-hwbp does not have, so \
                     all were left out: {}",
                    m.left_out
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            self.diags.push(d);
        }
        self.check()?;
        Ok(m)
    }

    /// `-D` as compiler definitions, or why they are refused (out of range, not a limit).
    pub fn defines(&self) -> Result<Vec<String>, Stop> {
        crate::limits::defines(&self.cfg.defines, self.cfg.guru).map_err(Stop::Env)
    }

    /// The module's name: `-m`, or one derived from the script.
    pub fn module_name(&self) -> String {
        match &self.cfg.module_name {
            Some(n) => n.clone(),
            None => crate::kbuild::module_name(
                self.cfg.script_file.as_deref(),
                self.cfg.script_text.as_deref().unwrap_or(""),
            ),
        }
    }

    /// The module's name, or why `-m` is refused.
    pub fn checked_module_name(&self) -> Result<String, Stop> {
        let name = self.module_name();
        if !crate::kbuild::valid_module_name(&name) {
            return Err(Stop::Env(format!(
                "-m {name}: a module name is a C identifier (letters, digits and underscores, \
                 not starting with a digit) of at most 55 characters"
            )));
        }
        Ok(name)
    }

    /// Pass 3, as the C pass 4 builds.
    pub fn translate(&mut self, m: &Module) -> Result<String, Stop> {
        let mut c = String::new();
        // Writing to a String cannot fail.
        let _ = self.translate_to(m, &mut c)?;
        Ok(c)
    }

    /// Pass 3, written to `out` as it goes (`-p3`); the outer error is the translation's, the
    /// inner one `out`'s.
    pub fn translate_to(
        &mut self,
        m: &Module,
        out: &mut dyn crate::backend::c::sink::Out,
    ) -> Result<std::io::Result<()>, Stop> {
        let name = self.checked_module_name()?;
        let script_name = match (&self.cfg.script_file, &self.cfg.script_text) {
            (_, Some(_)) => "<command line>".to_string(),
            (Some(f), None) => std::path::Path::new(f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let opts = crate::backend::c::Opts {
            module_name: name,
            script_name,
        };
        Ok(self.time("Pass 3: translated to C", |s| {
            crate::backend::c::emit_to(m, &s.sm, &opts, out)
        }))
    }

    /// Pass 4, through the module cache unless `--no-cache`.
    pub fn build(&mut self, c: &str) -> Result<crate::kbuild::Built, Stop> {
        use crate::kbuild::{CachePolicy, CacheUse, cache::Cache};
        let defines = self.defines()?;
        let tree = self.kernel.tree().map_err(Stop::Env)?.clone();
        let name = self.module_name();
        let cache = if self.cfg.no_cache {
            None
        } else {
            Cache::from_env().map_err(Stop::Env)?
        };
        let rebuild = self.cfg.keep_build_dir;
        let (built, used) = self
            .time("Pass 4: compiled the module", |_| {
                let _spin = crate::spinner::Spinner::start(&format!(
                    "Pass 4: building {name}.ko for {}",
                    tree.release
                ));
                let mut on_damaged = |m: &str| eprintln!("stp-hwbp: {m}");
                let policy = CachePolicy {
                    cache: cache.as_ref(),
                    rebuild,
                    on_damaged: &mut on_damaged,
                };
                crate::kbuild::build_cached(c, &name, &tree, &defines, policy)
            })
            .map_err(|e| match e {
                crate::kbuild::BuildError::Env(m) => Stop::Env(m),
                crate::kbuild::BuildError::Compile(m) => Stop::Build(m),
            })?;
        if self.cfg.verbose > 0 {
            let how = match (&built.replayed, &built.replay_failed) {
                (true, _) => " by replaying kbuild's recorded commands".to_string(),
                (false, Some(why)) => {
                    format!(" by kbuild (replaying its recorded commands failed: {why})")
                }
                (false, None) => " by kbuild".to_string(),
            };
            match used {
                CacheUse::Off => eprintln!("Pass 4: module cache not used"),
                CacheUse::Hit(d) => {
                    eprintln!("Pass 4: cache hit, using {name}.ko from {}", d.display())
                }
                CacheUse::Stored(Ok(d)) => eprintln!(
                    "Pass 4: cache miss, built{how} and stored in {}",
                    d.display()
                ),
                CacheUse::Stored(Err(e)) => eprintln!("Pass 4: cache miss, built{how}; {e}"),
            }
        }
        Ok(built)
    }

    /// `-k`: keeps the build directory and says where it is.
    pub fn keep(&self, built: crate::kbuild::Built) {
        if self.cfg.keep_build_dir {
            let p = built.dir.keep();
            eprintln!("Keeping the build directory {}", p.display());
        }
    }

    pub fn timings(&self) -> &[(String, u128)] {
        &self.timings
    }
}

fn parse_define(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (s.to_string(), String::new()),
    }
}

/// Runs one invocation; returns the exit code.
pub fn main(cli: crate::cli::Cli) -> i32 {
    if cli.print_man {
        return print_text(&crate::cli::man_page(), "the man page");
    }
    if let Some(sh) = cli.print_completions {
        return print_text(&crate::cli::completions(sh), "the completions");
    }
    if let Some(p) = cli.list.as_deref().or(cli.list_context.as_deref()) {
        // `kprobe.function("PATTERN")`: the running kernel's functions that match.
        let out = list_functions(p).or_else(|| sema::listing::list(p, cli.list_context.is_some()));
        return match out.filter(|o| !o.is_empty()) {
            Some(out) => print_text(&out, "the list"),
            None => {
                eprintln!("stp-hwbp: no probe point matches `{p}`");
                EXIT_SCRIPT
            }
        };
    }
    if cli.dump_probe_types {
        return print_text(&sema::listing::probe_types(), "the probe types");
    }
    let (script_file, args) = match (&cli.script, cli.rest.split_first()) {
        (Some(_), _) => (None, cli.rest.clone()),
        (None, Some((f, rest))) => (Some(f.clone()), rest.to_vec()),
        (None, None) if cli.dump_functions || cli.run_module.is_some() => (None, vec![]),
        (None, None) => {
            eprintln!(
                "stp-hwbp: no script given\n\nUsage: stp-hwbp [OPTIONS] SCRIPT [ARGS]... or stp-hwbp -e 'SCRIPT' [ARGS]...\nFor more information, try '--help'."
            );
            return 2;
        }
    };
    let arch = match cli.arch.as_deref().map(|a| (a, Arch::parse(a))) {
        None => None,
        Some((_, Some(a))) => Some(a),
        Some((a, None)) => {
            eprintln!(
                "stp-hwbp: unsupported architecture `{a}` for -a (stp-hwbp targets x86_64 and arm64; aarch64 is accepted for arm64)"
            );
            return 2;
        }
    };
    let cfg = Config {
        script_file,
        script_text: cli.script.clone(),
        args,
        last_pass: cli.pass.unwrap_or(5),
        kernel: cli.kernel.clone(),
        arch,
        guru: cli.guru,
        defines: cli.defines.iter().map(|d| parse_define(d)).collect(),
        include_dirs: cli.include.clone(),
        verbose: cli.verbose,
        no_warnings: cli.no_warnings,
        warnings_are_errors: cli.warnings_are_errors,
        module_name: cli.module.clone(),
        keep_build_dir: cli.keep,
        no_cache: cli.no_cache,
        run: RunCfg {
            command: cli.command.clone(),
            target_pid: cli.target_pid,
            output: cli.output.clone(),
            timeout: cli.timeout,
            globals: cli.set_globals.iter().map(|d| parse_define(d)).collect(),
            vm: cli.vm,
            vm_files: cli.vm_files.clone(),
            vm_setup: cli.vm_setup.clone(),
            vm_kernel_args: cli.vm_kernel_args.clone(),
        },
    };
    if let Some(ko) = &cli.run_module {
        crate::stack::restore();
        return match run_module(&cfg, std::path::Path::new(ko)) {
            Ok(c) => c,
            Err(Stop::Env(m)) => {
                eprintln!("stp-hwbp: {m}");
                EXIT_ENV
            }
            Err(Stop::Script) => EXIT_SCRIPT,
            Err(Stop::Build(m)) => {
                eprintln!("stp-hwbp: {m}");
                EXIT_SCRIPT
            }
        };
    }
    let mut cfg = cfg;
    if cfg.run.vm && cfg.kernel.is_none() {
        // A guest boots an installed Debian kernel, never the host's: pick the newest (of the
        // `-a` architecture, among those `make setup` unpacked, when that is not the host's).
        cfg.kernel = match cfg.arch.filter(|a| *a != Arch::host()) {
            Some(a) => crate::kbuild::tree::foreign(a).pop(),
            None => crate::kbuild::tree::installed().pop(),
        };
    }
    let mut s = Session::new(cfg);
    if cli.dump_functions {
        return dump_functions(&mut s);
    }
    let r = run(&mut s);
    let rendered = s.render_diags();
    eprint!("{rendered}");
    match r {
        Ok(code) => code,
        Err(Stop::Script) => {
            let n = s.diags.error_count().max(1);
            eprintln!(
                "stp-hwbp: {n} error{} in the script; stopped.",
                if n == 1 { "" } else { "s" }
            );
            EXIT_SCRIPT
        }
        Err(Stop::Env(msg)) => {
            eprintln!("stp-hwbp: {msg}");
            EXIT_ENV
        }
        Err(Stop::Build(msg)) => {
            eprintln!("stp-hwbp: {msg}");
            EXIT_SCRIPT
        }
    }
}

fn run(s: &mut Session) -> Result<i32, Stop> {
    // Settings that can only be wrong are refused before any pass runs.
    s.defines()?;
    s.checked_module_name()?;
    let script = s.parse()?;
    if s.cfg.last_pass == 1 {
        return print_pass(&syntax::print::script(&script), "the script");
    }
    // Each pass's input is freed once the next has its output (pass 2 frees the script's
    // trees as it goes): peak memory on a large script is then one pass's worth, not all of
    // them.
    let m = s.elaborate(script)?;
    if s.cfg.last_pass == 2 {
        return print_pass(&crate::ir::print::module(&m), "the elaborated script");
    }
    if s.cfg.last_pass == 3 {
        // Straight to stdout, part by part: the C of a large script is tens of megabytes.
        let mut out = Bytes(std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        ));
        let written = s.translate_to(&m, &mut out)?.and_then(|()| out.0.flush());
        // `main` ends the process right after: freeing the IR node by node would only cost
        // time (5% of -p3 on a generated 100,000-line script), not lower the peak.
        std::mem::forget(m);
        return printed(written, "the C");
    }
    let c = s.translate(&m)?;
    drop(m);
    // What runs from here (kbuild, the loader, QEMU, `-c`'s command) inherits the user's own
    // stack limit, not the one the passes ran under.
    crate::stack::restore();
    let arch = s.kernel.target_arch();
    if s.cfg.last_pass == 5 && arch != Arch::host() && !s.cfg.run.vm {
        // Before the build: this machine cannot load it (a guest of its kind can: --vm).
        return Err(Stop::Env(format!(
            "cannot run a module built for {}: this {} machine cannot load it; add --vm to run it in a guest, or build it with -p4 and load it on an {} machine (insmod NAME.ko, then read /proc/stp_hwbp/NAME/out)",
            arch.name(),
            Arch::host().name(),
            arch.name()
        )));
    }
    if s.cfg.last_pass == 5 && !s.cfg.run.vm {
        check_running_kernel(s)?;
    }
    let built = s.build(&c)?;
    if s.cfg.last_pass == 4 {
        let dest = std::path::PathBuf::from(format!("{}.ko", s.module_name()));
        std::fs::copy(&built.ko, &dest)
            .map_err(|e| Stop::Env(format!("cannot write {}: {e}", dest.display())))?;
        let r = print_pass(&format!("{}\n", dest.display()), "the module's name");
        s.keep(built);
        return r;
    }
    let r = if s.cfg.run.vm {
        run_vm(s, &built.ko)
    } else {
        run_module(&s.cfg, &built.ko)
    };
    s.keep(built);
    r
}

/// `print_pass` for what runs no pass (`--dump-functions`, `-l`, ...): its exit code. A reader
/// that stopped reading (`| head`) is not an error.
fn print_text(text: &str, what: &str) -> i32 {
    match print_pass(text, what) {
        Ok(code) => code,
        Err(Stop::Env(m)) => {
            eprintln!("stp-hwbp: {m}");
            EXIT_ENV
        }
        Err(_) => EXIT_ENV,
    }
}

/// Prints the output of `-p1` or `-p2` (`what` names it for an error).
fn print_pass(text: &str, what: &str) -> Result<i32, Stop> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    printed(
        out.write_all(text.as_bytes()).and_then(|()| out.flush()),
        what,
    )
}

/// How a run that ends by printing `what` ends, given how the writing went.
fn printed(written: std::io::Result<()>, what: &str) -> Result<i32, Stop> {
    match written {
        Ok(()) => Ok(0),
        // The reader stopped reading (`-p3 | head`): nothing more to say to anyone.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(Stop::Env(format!("cannot write {what} to stdout: {e}"))),
    }
}

fn loader_options(cfg: &Config, ko: &std::path::Path) -> crate::run::loader::RunOptions {
    crate::run::loader::RunOptions {
        module: ko.to_path_buf(),
        command: cfg.run.command.clone(),
        target_pid: cfg.run.target_pid,
        output: cfg.run.output.as_ref().map(std::path::PathBuf::from),
        timeout: cfg.run.timeout.map(std::time::Duration::from_secs_f64),
        globals: cfg.run.globals.clone(),
        verbose: cfg.verbose,
    }
}

/// A module runs only on the kernel it was built for: say so before building one that the
/// running kernel would refuse.
fn check_running_kernel(s: &mut Session) -> Result<(), Stop> {
    let running = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let running = running.trim();
    let tree = s.kernel.tree().map_err(Stop::Env)?;
    if tree.release != running {
        return Err(Stop::Env(format!(
            "this machine runs {running}, but the kernel tree found is {}'s: a module built \
             for it would not load here. Install linux-headers-{running} to run here, or add \
             --vm to run in a guest booting {}",
            tree.release, tree.release
        )));
    }
    Ok(())
}

/// Pass 5 on this machine's kernel.
fn run_module(cfg: &Config, ko: &std::path::Path) -> Result<i32, Stop> {
    crate::run::loader::run(&loader_options(cfg, ko)).map_err(Stop::Env)
}

/// Pass 5 inside a QEMU guest booting the target kernel, with this very binary as the loader.
fn run_vm(s: &mut Session, ko: &std::path::Path) -> Result<i32, Stop> {
    use crate::run::vm;
    let tree = s.kernel.tree().map_err(Stop::Env)?.clone();
    let arch = s.kernel.target_arch();
    let image = match arch {
        Arch::X86_64 => std::path::PathBuf::from(format!("/boot/vmlinuz-{}", tree.release)),
        Arch::Arm64 => crate::run::vm_arm64::image(&tree.release),
    };
    if !image.exists() {
        let how = match arch {
            Arch::X86_64 => format!("install linux-image-{}", tree.release),
            Arch::Arm64 => "`make setup` unpacks Debian's arm64 6.12 image there".to_string(),
        };
        return Err(Stop::Env(format!(
            "--vm needs the kernel image {} ({how})",
            image.display()
        )));
    }
    // A -G mistake is found here, not after the guest booted.
    if !s.cfg.run.globals.is_empty() {
        let info = crate::run::modinfo::ModInfo::from_file(ko).map_err(Stop::Env)?;
        crate::run::loader::global_params(&info, &s.cfg.run.globals).map_err(Stop::Env)?;
    }
    let exe =
        std::env::current_exe().map_err(|e| Stop::Env(format!("cannot find this program: {e}")))?;
    let guest_ko = format!(
        "/root/{}",
        ko.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    let mut files = vec![
        (
            crate::run::boot::guest_exe(&exe),
            "/bin/stp-hwbp".to_string(),
        ),
        (ko.to_path_buf(), guest_ko.clone()),
    ];
    for f in &s.cfg.run.vm_files {
        let (h, g) = f
            .split_once(':')
            .ok_or_else(|| Stop::Env(format!("--vm-file {f}: expected HOST:GUEST")))?;
        files.push((h.into(), g.to_string()));
    }
    if arch == Arch::Arm64 {
        // No loader binary for arm64 guests: the busybox script stands in for it.
        files.remove(0);
    }
    let mut argv = vec![
        "/bin/stp-hwbp".to_string(),
        "--run-module".into(),
        guest_ko.clone(),
    ];
    if let Some(c) = &s.cfg.run.command {
        argv.extend(["-c".into(), c.clone()]);
    }
    if let Some(t) = s.cfg.run.timeout {
        argv.extend(["-T".into(), t.to_string()]);
    }
    if let Some(x) = s.cfg.run.target_pid {
        argv.extend(["-x".into(), x.to_string()]);
    }
    for (k, v) in &s.cfg.run.globals {
        argv.extend(["-G".into(), format!("{k}={v}")]);
    }
    for _ in 0..s.cfg.verbose {
        argv.push("-v".into());
    }
    let cmd: Vec<String> = argv.iter().map(|a| crate::run::shell_quote(a)).collect();
    let run = match arch {
        Arch::X86_64 => format!("exec {}", cmd.join(" ")),
        Arch::Arm64 => {
            let info = crate::run::modinfo::ModInfo::from_file(ko).map_err(Stop::Env)?;
            crate::run::shloader::script(&info, &guest_ko, &loader_options(&s.cfg, ko))
                .map_err(|e| Stop::Env(format!("cannot run it in an arm64 guest: {e}")))?
        }
    };
    let script = format!(
        "{}\n{run}\n",
        s.cfg.run.vm_setup.clone().unwrap_or_default(),
    );
    let mut spec = vm::GuestSpec::new(image, ["/bin/sh"]);
    spec.arch = arch;
    spec.files = files;
    spec.shell = Some(script);
    spec.kernel_args = s.cfg.run.vm_kernel_args.clone();
    spec.timeout = std::time::Duration::from_secs_f64(s.cfg.run.timeout.unwrap_or(0.0) + 120.0);
    let out: Box<dyn std::io::Write> = match &s.cfg.run.output {
        Some(f) => Box::new(
            std::fs::File::create(f).map_err(|e| Stop::Env(format!("cannot write {f}: {e}")))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let t = std::time::Instant::now();
    let spin = std::sync::Mutex::new(crate::spinner::Spinner::start(&format!(
        "Pass 5: booting {} in QEMU",
        tree.release
    )));
    let mut out = crate::spinner::StopOnWrite {
        inner: out,
        spinner: &spin,
        failed: false,
    };
    let mut err = crate::spinner::StopOnWrite {
        inner: std::io::stderr(),
        spinner: &spin,
        failed: false,
    };
    let outcome = vm::run_guest(&spec, &mut out, &mut err);
    if let Ok(mut sp) = spin.lock() {
        sp.stop();
    }
    let outcome = match outcome {
        // The reader stopped reading (`| head`): the guest was stopped, as `-p3 | head` stops.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        // The output could not be written (`-o` on a full disk): say so, not that the guest
        // failed.
        Err(e) if out.failed => {
            let to = s.cfg.run.output.as_deref().unwrap_or("standard output");
            return Err(Stop::Env(format!("cannot write the output to {to}: {e}")));
        }
        o => o.map_err(|e| Stop::Env(format!("cannot run the guest: {e}")))?,
    };
    if s.cfg.verbose > 0 {
        eprintln!(
            "Pass 5: ran in a {} guest in {} ms (boot {} ms)",
            tree.release,
            t.elapsed().as_millis(),
            outcome.boot_ms
        );
    }
    if !outcome.kernel_problems.is_empty() {
        eprintln!("stp-hwbp: the guest kernel reported problems:");
        for p in &outcome.kernel_problems {
            eprintln!("  {p}");
        }
        // The kernel's own report of the first one (its call trace says where), for a bug
        // report: the guest and its log are gone once this returns.
        let report = crate::run::vm::first_problem_report(&outcome.kernel_log, 60);
        if !report.is_empty() {
            eprintln!("stp-hwbp: the guest kernel's log from the first problem on:");
            eprintln!("{report}");
        }
        return Ok(EXIT_SCRIPT);
    }
    match outcome.status {
        Some(st) => Ok(st),
        None => {
            // Show what the guest kernel said last: the only clue to a hang.
            let tail: Vec<&str> = outcome.kernel_log.lines().rev().take(25).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(Stop::Env(format!(
                "the guest did not finish{} (boot took {} ms); the end of its kernel log:\n{}",
                if outcome.timed_out { " in time" } else { "" },
                outcome.boot_ms,
                tail.join("\n")
            )))
        }
    }
}

fn dump_functions(s: &mut Session) -> i32 {
    let tapsets = match s.parse_tapsets(None) {
        Ok(t) => t,
        Err(Stop::Env(e)) => {
            eprintln!("stp-hwbp: {e}");
            return EXIT_ENV;
        }
        Err(_) => return EXIT_SCRIPT,
    };
    let mut lines = vec![];
    for script in tapsets {
        for it in script.items {
            if let ast::Item::Function(f) = it
                && !f.name.name.starts_with("__")
            {
                let params: Vec<String> = f
                    .params
                    .iter()
                    .map(|p| {
                        format!(
                            "{}:{}",
                            p.name.name,
                            p.ty.map(syntax::print::type_name).unwrap_or("unknown")
                        )
                    })
                    .collect();
                let untyped = if matches!(f.body, ast::FunctionBody::Embedded(..)) {
                    "void"
                } else {
                    "unknown"
                };
                let ret = f.ret.map(syntax::print::type_name).unwrap_or(untyped);
                // Where it may run, from its `/* context: ... */` comment (a function
                // written in the language runs wherever its callees do: anywhere, in the
                // tapsets).
                let context = match &f.body {
                    ast::FunctionBody::Embedded(c, _) => c
                        .split_once("context: ")
                        .and_then(|(_, r)| r.split_once("*/"))
                        .map(|(ctx, _)| ctx.trim().to_string())
                        .unwrap_or_else(|| "any".into()),
                    ast::FunctionBody::Script(_) => "any".into(),
                };
                lines.push(format!(
                    "{}:{} ({}) /* context: {context} */",
                    f.name.name,
                    ret,
                    params.join(", ")
                ));
            }
        }
    }
    lines.extend(
        [
            "printf:void (format:string, ...) /* context: any */",
            "sprintf:string (format:string, ...) /* context: any */",
            "print:void (...) /* context: any */",
            "println:void (...) /* context: any */",
            "sprint:string (...) /* context: any */",
            "sprintln:string (...) /* context: any */",
            "printd:void (delimiter:string, ...) /* context: any */",
            "printdln:void (delimiter:string, ...) /* context: any */",
            "sprintd:string (delimiter:string, ...) /* context: any */",
            "sprintdln:string (delimiter:string, ...) /* context: any */",
        ]
        .map(String::from),
    );
    lines.sort();
    let mut text = lines.join("\n");
    text.push('\n');
    print_text(&text, "the functions")
}

/// `-l 'kprobe.function("vfs_*")'` (also `kernel.function`, `.return`, `kprobe.module("m")`):
/// one point per function of the running kernel that matches and may be probed. None when the
/// pattern is not a function probe with a literal name.
fn list_functions(pattern: &str) -> Option<String> {
    let (body, ret) = match pattern.strip_suffix(".return") {
        Some(b) => (b, ".return"),
        None => (pattern, ""),
    };
    let (head, rest) = body.split_once(".function(\"")?;
    let name = rest.strip_suffix("\")")?;
    let module = match head {
        "kprobe" | "kernel" => None,
        _ => Some(
            head.strip_prefix("kprobe.module(\"")?
                .strip_suffix("\")")?
                .to_string(),
        ),
    };
    let ks = std::fs::read_to_string("/proc/kallsyms").ok()?;
    let ok = crate::run::functions::Probeable::read();
    let mut out = String::new();
    for f in crate::run::functions::expand(&ks, name, module.as_deref(), &ok) {
        out.push_str(&format!("{head}.function(\"{f}\"){ret}\n"));
    }
    Some(out)
}
