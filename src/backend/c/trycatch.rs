//! `try { } catch (msg) { }` as C.
//!
//! Every failure in a body leaves through `goto stp_out` (the `STP_STMT()` check, the check
//! after each call, `STAP_ERROR` in embedded C). Inside a `try` block, a GCC local label
//! (`__label__ stp_out;`) redirects all of them to the end of that block, so no other code
//! needs to know it is inside a `try`; errors in called functions come back as
//! `c->last_error` and take the same jump at the caller's check. `next` and `return` also
//! leave through `stp_out`: `stp_catch` (stp_lang.h) tells them apart (no error pending) and
//! refuses MAXACTION, which SystemTap does not let `try` catch either, and both then go on
//! to the enclosing `stp_out` (the outer `try`'s, or the body's own). Nesting adds no loop:
//! the jumps only go forward.

use super::body::BodyGen;
use super::writer::cline;
use crate::ir::{Block, LValue};

impl BodyGen<'_> {
    pub(super) fn try_catch(&mut self, body: &Block, var: Option<&LValue>, catch: &Block) {
        let end = self.fresh("stp_try_end");
        self.w.open("");
        self.w.line("__label__ stp_out;");
        self.block(body);
        cline!(self.w; "goto ", end, ";");
        self.w.label("stp_out");
        self.w.line("__attribute__((unused));");
        self.w.close();
        let dst = match var {
            Some(v) => self.scalar(v).0,
            None => "NULL".into(),
        };
        cline!(self.w; "if (!stp_catch(c, ", dst, "))");
        self.w.line("\tgoto stp_out;");
        self.w.open("");
        self.block(catch);
        self.w.close();
        self.w.label(&end);
        self.w.line(";");
    }
}
