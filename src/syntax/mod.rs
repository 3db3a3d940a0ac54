//! Pass 1: source text to a parsed, preprocessed script. `lexer` finds tokens, `preprocess`
//! resolves conditionals and command-line arguments, `parser` builds the `ast`, `print` writes
//! it back as source for `-p1`.

pub mod ast;
pub mod lexer;
pub mod macros;
pub mod name;
pub mod parser;
pub mod preprocess;
pub mod print;
pub mod text;
pub mod tokens;
pub mod version;

use crate::diag::{Diag, Diags, FileId, Loc, Origin, SourceMap, codes};

/// Runs the whole of pass 1 on one file.
pub fn parse_file(
    sm: &SourceMap,
    file: FileId,
    env: &mut dyn preprocess::PpEnv,
    macros: &macros::Library,
    diags: &mut Diags,
) -> ast::Script {
    let text = sm.text(file);
    if text.len() > lexer::MAX_SOURCE_BYTES {
        diags.push(Diag::error(
            codes::INPUT_TOO_LARGE,
            Loc::CommandLine(sm.name(file).to_string()),
            format!(
                "{} is {} bytes; scripts are limited to {} bytes",
                sm.name(file),
                text.len(),
                lexer::MAX_SOURCE_BYTES
            ),
        ));
        return ast::Script { items: vec![] };
    }
    let guru = env.guru();
    let stray = sm.stray(file);
    if tokens::needs_token_passes(text) {
        let toks = lexer::lex(file, text, stray, diags);
        let toks = macros::expand(toks, macros, diags);
        let toks = preprocess::preprocess(toks, env, diags);
        return parser::parse(
            &mut tokens::VecSource::new(toks),
            sm.origin(file),
            guru,
            diags,
        );
    }
    // The parser pulls the tokens from the lexer as it goes. The lexer's diagnostics come
    // first, as when the text is lexed before it is parsed: the rest of the text is lexed
    // for them if the parser stopped early.
    let mut stream = lexer::Stream::new(file, text, stray, diags.error_count());
    let mut parse_diags = Diags::default();
    let script = parser::parse(&mut stream, sm.origin(file), guru, &mut parse_diags);
    while stream.next_tok().t != lexer::T::Eof {}
    diags.extend(stream.diags);
    diags.extend(parse_diags);
    script
}

/// The error for a script without probes, the same whether pass 1 finds nothing at all or
/// pass 2 finds only globals and functions.
/// `at` names the script, as in `Loc::CommandLine("x.stp")`.
pub fn no_probes(at: Loc) -> Diag {
    Diag::error(codes::INPUT, at, "the script has no probes")
        .help("a script needs at least one probe, e.g. probe begin { println(\"hello\") exit() }")
}

/// Reads a macro library (`.stpm`): its `@define`s join `lib`. Conditionals inside a body are
/// resolved where the macro is used.
pub fn define_macros(sm: &SourceMap, file: FileId, lib: &mut macros::Library, diags: &mut Diags) {
    let toks = lexer::lex(file, sm.text(file), sm.stray(file), diags);
    macros::define_library(toks, lib, diags);
}

/// The pass-1 entry point for a text that is not in a source map yet, as fuzzers call it.
pub fn parse_text(text: &str, args: &[String]) -> (ast::Script, Diags, SourceMap) {
    let mut sm = SourceMap::default();
    let f = sm.add("<input>", text, Origin::Script);
    let mut diags = Diags::default();
    let mut env = preprocess::NoKernel {
        args: args.to_vec(),
        guru: false,
    };
    let s = parse_file(&sm, f, &mut env, &macros::Library::default(), &mut diags);
    (s, diags, sm)
}
