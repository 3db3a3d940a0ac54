//! Diagnostic codes, one block per pass, so that a code says where it was raised.
//! E00x: reading input; E01x: lexing and preprocessing; E02x: parsing;
//! E03x: resolution; E04x: types; E05x: probe points; E06x: calls and formats;
//! E07x: kernel tree; E08x: build; E09x: watchpoint lifecycle; W0xx: warnings.

pub const INPUT: &str = "E001";
pub const INPUT_TOO_LARGE: &str = "E002";
pub const LEX_BAD_CHAR: &str = "E010";
pub const LEX_UNTERMINATED: &str = "E011";
pub const LEX_BAD_NUMBER: &str = "E012";
pub const LEX_BAD_ESCAPE: &str = "E013";
pub const PP_MISSING_ARG: &str = "E014";
pub const PP_BAD_COND: &str = "E015";
pub const PP_UNBALANCED: &str = "E016";
pub const PP_ARG_NOT_NUMBER: &str = "E017";
pub const LEX_UNSUPPORTED: &str = "E018";
pub const MACRO: &str = "E019";
pub const PARSE: &str = "E020";
pub const PARSE_TOO_DEEP: &str = "E021";
pub const PARSE_GURU: &str = "E022";
/// A macro use whose expansion (nested uses included) outgrows the translator's budget.
pub const MACRO_TOO_LARGE: &str = "E023";
pub const UNDEFINED: &str = "E030";
pub const DUPLICATE: &str = "E031";
pub const NOT_ARRAY: &str = "E032";
pub const MISPLACED: &str = "E033";
pub const ARRAY_ARITY: &str = "E034";
pub const NOT_LVALUE: &str = "E035";
pub const FOREACH_MODIFY: &str = "E036";
pub const REGEX: &str = "E025";
pub const TYPE_MISMATCH: &str = "E040";
pub const TYPE_UNRESOLVED: &str = "E041";
/// A statistic used as a value, or an extractor applied to something else.
pub const STAT_MISUSE: &str = "E042";
/// Histogram or `@variance` parameters that make no sense, or conflict.
pub const STAT_PARAM: &str = "E043";
pub const PROBE_UNKNOWN: &str = "E050";
pub const PROBE_ARG: &str = "E051";
pub const PROBE_READ: &str = "E052";
pub const PROBE_ALIGN: &str = "E053";
pub const PROBE_SYMBOL: &str = "E054";
pub const PROBE_LENGTH: &str = "E055";
pub const PROBE_ALIAS: &str = "E059";
pub const CALL_ARITY: &str = "E060";
pub const FORMAT: &str = "E061";
pub const CONTEXT_FN: &str = "E062";
pub const KERNEL_TREE: &str = "E070";
pub const WATCH_UNKNOWN: &str = "E090";
pub const WATCH_ARG: &str = "E091";
pub const WATCH_DECL: &str = "E092";
pub const WATCH_SUB: &str = "E093";
pub const WATCH_PRIORITY: &str = "E094";
pub const WARN_WATCH_COUNT: &str = "W001";
pub const WARN_UNUSED: &str = "W002";
pub const WARN_NEVER_ASSIGNED: &str = "W003";
pub const WARN_CONTEXT_FN: &str = "W004";
pub const WARN_NEVER_ENABLED: &str = "W010";
pub const WARN_ENABLE_AT_END: &str = "W011";
