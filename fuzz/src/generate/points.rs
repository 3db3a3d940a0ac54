//! Items: functions, probes on every family of points (start-up and named watchpoints with
//! their sub-probes, begin/end/never, every timer unit), and an epilogue that settles what the
//! rest left open (a type for every global, an `enable` for every named watchpoint).

use super::stmt::Body;
use super::*;

/// Where a start-up watchpoint watches.
#[derive(Clone, PartialEq)]
pub(crate) enum Addr {
    Literal(u64),
    Symbol(String, u64),
}

const BASE: u64 = 0xffff_ffff_8200_0000;
const SYMBOLS: &[&str] = &["pid_max", "jiffies_64", "panic_timeout", "foo.constprop.0"];
const SUBS: [(&str, Needs); 3] = [
    ("begin", DATA_ADDR | DATA_VALUE),
    ("end", DATA_ADDR | DATA_VALUE | END_REASON),
    ("unavailable", DATA_ADDR | UNAVAILABLE_REASON),
];

/// A probe to write: its points, what they offer, and the watchpoint it declares.
struct Plan {
    points: Vec<Point>,
    allowed: Needs,
    param: Option<String>,
    declares: Option<(String, Option<String>)>,
}

fn comp(name: &str, arg: Option<String>) -> (String, Option<String>) {
    (name.to_string(), arg)
}

fn is_symbol(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn arg_value(s: &str) -> Option<u64> {
    s.strip_prefix("0x")
        .and_then(|h| u64::from_str_radix(h, 16).ok())
}

impl Gen<'_> {
    pub fn function(&mut self) -> Item {
        let name = self.fresh("f", RESERVED_FUNCTIONS);
        let recursive = self.chance(20);
        let mut params = vec![];
        if recursive {
            params.push((self.fresh("n", &[]), Ty::Long));
        }
        for _ in 0..self.pick(&[0, 1, 1, 2, 3]) {
            let t = self.ty();
            params.push((self.fresh("p", &[]), t));
        }
        let ret = if self.chance(30) {
            None
        } else {
            Some(self.ty())
        };
        let allowed = if self.chance(80) {
            0
        } else {
            self.pick(&[
                DATA_ADDR | DATA_VALUE,
                DATA_ADDR,
                DATA_ADDR | DATA_VALUE | DATA_OLD,
                END_REASON,
                UNAVAILABLE_REASON | DATA_ADDR,
            ])
        };
        let annotated: Vec<bool> = params.iter().map(|_| self.chance(50)).collect();
        let idx = self.functions.len();
        self.functions.push(Func {
            name: name.clone(),
            params: params.clone(),
            ret,
            annotated: annotated.clone(),
            needs: 0,
            writes: Default::default(),
            recursive,
            gains: Facts::default(),
        });
        // What the body establishes counts only where the function is called.
        let outer = std::mem::take(&mut self.facts);
        let mut b = Body::probe(allowed, None);
        b.function = Some(idx);
        b.ret = ret;
        b.locals = params.clone();
        let mut body = vec![];
        if recursive {
            let base = ret.map(|t| Expr::Lit(self.literal(t)));
            let n = Expr::Var(params[0].0.clone());
            let stop = Expr::Binary("<=", Box::new(n), Box::new(Expr::Lit("0".into())));
            body.push(Stmt::If(stop, Box::new(Stmt::Return(base)), None));
        }
        body.extend(self.stmts(&mut b, 0, 1, 4));
        if recursive {
            body.push(Stmt::Expr(self.call_of(&mut b, idx, 1)));
        }
        if let Some(t) = ret {
            // The return that gives an undeclared result its type.
            body.push(Stmt::Return(Some(self.typed_expr(&mut b, t, 2))));
        }
        let gains = std::mem::replace(&mut self.facts, outer);
        let f = &mut self.functions[idx];
        f.needs = b.needs;
        f.writes = b.writes;
        f.gains = gains;
        let ret = ret.filter(|_| self.chance(50));
        let params = params
            .into_iter()
            .zip(annotated)
            .map(|((p, t), a)| (p, a.then_some(t)))
            .collect();
        Item::Function(FunctionDecl {
            name,
            ret,
            params,
            body,
            embedded: None,
        })
    }

    /// A function with an embedded-C body (guru mode), callable like any other: its C uses
    /// `STAP_ARG_x`, `STAP_RETVALUE`, `STAP_RETURN`, `STAP_ERROR`, `CONTEXT` and `MAXSTRINGLEN`.
    pub fn embedded_function(&mut self) -> Item {
        let (ret, params, c): (Option<Ty>, &[(&str, Ty)], &str) = self.pick(&[
            (
                Some(Ty::Long),
                &[("a", Ty::Long), ("b", Ty::Long)][..],
                " /* pure */\n\tSTAP_RETVALUE = STAP_ARG_a ^ STAP_ARG_b;\n",
            ),
            (Some(Ty::Long), &[], "\n\tSTAP_RETURN(raw_smp_processor_id());\n"),
            (
                Some(Ty::Str),
                &[("s", Ty::Str)],
                "\n\tSTAP_RETURN(STAP_ARG_s);\n",
            ),
            (
                Some(Ty::Str),
                &[("n", Ty::Long)],
                "\n\tsnprintf(STAP_RETVALUE, MAXSTRINGLEN, \"%lld\", (long long)STAP_ARG_n);\n",
            ),
            (
                None,
                &[("x", Ty::Long)],
                "\n\tif (STAP_ARG_x < 0 && CONTEXT)\n\t\tSTAP_ERROR(\"negative: %lld\", (long long)STAP_ARG_x);\n",
            ),
        ]);
        let name = self.fresh("e", RESERVED_FUNCTIONS);
        let params: Vec<(String, Ty)> = params.iter().map(|(p, t)| (p.to_string(), *t)).collect();
        self.functions.push(Func {
            name: name.clone(),
            params: params.clone(),
            ret,
            annotated: vec![true; params.len()],
            needs: 0,
            writes: Default::default(),
            recursive: false,
            gains: Facts::default(),
        });
        Item::Function(FunctionDecl {
            name,
            ret,
            params: params.into_iter().map(|(p, t)| (p, Some(t))).collect(),
            body: vec![],
            embedded: Some(c.to_string()),
        })
    }

    pub fn literal(&mut self, t: Ty) -> String {
        match t {
            Ty::Long => self.int_lit(),
            Ty::Str => self.str_lit(),
        }
    }

    fn make_startup(&mut self) {
        for _ in 0..self.pick(&[0, 1, 1, 2, 3, 4]) {
            let len = self.pick(&[1u8, 2, 4, 8]);
            let from_args: Vec<Addr> = self
                .args
                .iter()
                .filter_map(|a| match arg_value(&a.text) {
                    Some(v) if a.number => Some(Addr::Literal(v)),
                    _ if !a.number && is_symbol(&a.text) => Some(Addr::Symbol(a.text.clone(), 0)),
                    _ => None,
                })
                .collect();
            let addr = match self.below(5) {
                0 if !from_args.is_empty() => from_args[self.below(from_args.len())].clone(),
                0..=2 => {
                    let per = 8 / u64::from(len);
                    Addr::Literal(
                        BASE + 8 * self.below(16) as u64
                            + u64::from(len) * self.below(per as usize) as u64,
                    )
                }
                _ => Addr::Symbol(self.pick(SYMBOLS).into(), self.pick(&[0, 0, 4, 8, 16])),
            };
            let rw = self.chance(30);
            let priority = self.pick(&[0, 0, 0, 1, -1, 10, 2147483647, -2147483648]);
            let dup = self
                .startup
                .iter()
                .any(|s| s.addr == addr && s.len == len && s.rw == rw && s.priority == priority);
            if !dup {
                self.startup.push(Startup {
                    addr,
                    len,
                    rw,
                    priority,
                });
            }
        }
    }

    fn make_named(&mut self) {
        for _ in 0..self.pick(&[0, 0, 1, 1, 2, 3]) {
            let name = self.fresh("w", FAMILIES);
            let param = self.chance(50).then(|| self.fresh("loc", &[]));
            let change = self.chance(30);
            self.named.push(Named {
                name,
                param,
                change,
            });
        }
    }

    /// An address as a point writes it: in hex, in upper case, as a (negative) decimal, in
    /// octal, or through a command-line argument that holds it.
    fn addr_text(&mut self, a: &Addr) -> String {
        match a {
            Addr::Literal(v) => {
                let arg = self
                    .args
                    .iter()
                    .position(|x| x.number && arg_value(&x.text) == Some(*v));
                match (arg, self.below(5)) {
                    (Some(i), 0 | 1) => format!("${}", i + 1),
                    (_, 0) => format!("0X{v:X}"),
                    (_, 1) => (*v as i64).to_string(),
                    (_, 2) => format!("0{v:o}"),
                    _ => format!("{v:#x}"),
                }
            }
            Addr::Symbol(name, off) => {
                let arg = self.args.iter().position(|x| !x.number && x.text == *name);
                if let (Some(i), 0, true) = (arg, *off, self.chance(50)) {
                    return format!("@{}", i + 1);
                }
                let o = match (*off, self.chance(50)) {
                    (0, true) => "+0".into(),
                    (0, false) => String::new(),
                    (n, true) => format!("+{n}"),
                    (n, false) => format!("+{n:#x}"),
                };
                format!("\"{name}{o}\"")
            }
        }
    }

    /// `kernel.data(ADDR)[.length(N)].ACCESS[.priority(P)][.SUB]` for start-up watch `s`.
    fn data_point(&mut self, s: usize, sub: Option<&str>, change: bool) -> Point {
        let (addr, len, rw, priority) = {
            let w = &self.startup[s];
            (w.addr.clone(), w.len, w.rw, w.priority)
        };
        let mut c = vec![
            comp("kernel", None),
            comp("data", Some(self.addr_text(&addr))),
        ];
        if len != 1 || self.chance(30) {
            let t = if self.chance(20) {
                format!("{len:#x}")
            } else {
                len.to_string()
            };
            c.push(comp("length", Some(t)));
        }
        let access = match (rw, change) {
            (true, _) => "rw",
            (false, true) => "change",
            (false, false) => "write",
        };
        c.push(comp(access, None));
        if priority != 0 || self.chance(15) {
            c.push(comp("priority", Some(priority.to_string())));
        }
        if let Some(sub) = sub {
            c.push(comp(sub, None));
        }
        Point(c)
    }

    fn timer_point(&mut self) -> Point {
        let (unit, ns) = self.pick(&[
            ("s", &["1", "2", "60", "9223372036"][..]),
            ("sec", &["1", "0x5"]),
            ("ms", &["1", "10", "100", "9223372036854"]),
            ("msec", &["250"]),
            ("us", &["100", "1000000"]),
            ("usec", &["100", "9223372036854775"]),
            ("ns", &["100000", "9223372036854775807"]),
            ("nsec", &["1000000"]),
            ("hz", &["1", "100", "1000", "10000"]),
            ("jiffies", &["1", "10", "250", "922337203685"]),
        ]);
        let mut n = self.pick(ns).to_string();
        // A small number from the command line fits every unit but the finest ones.
        let small: Vec<usize> = (0..self.args.len())
            .filter(|&i| {
                self.args[i].number && self.args[i].text.parse::<u32>().is_ok_and(|v| v > 0)
            })
            .collect();
        if !small.is_empty() && !matches!(unit, "us" | "usec" | "ns" | "nsec") && self.chance(30) {
            n = format!("${}", self.pick(&small) + 1);
        }
        Point(vec![comp("timer", None), comp(unit, Some(n))])
    }

    fn sequence(&mut self) -> Option<String> {
        self.chance(40).then(|| {
            self.pick(&[
                "0",
                "1",
                "-1",
                "5",
                "0x10",
                "-9223372036854775808",
                "9223372036854775807",
            ])
            .to_string()
        })
    }

    fn plain_point(&mut self) -> Point {
        match self.below(6) {
            0 | 1 => {
                let s = self.sequence();
                Point(vec![comp("begin", s)])
            }
            2 => {
                let s = self.sequence();
                Point(vec![comp("end", s)])
            }
            3 => Point(vec![comp("never", None)]),
            _ => self.timer_point(),
        }
    }

    fn plans(&mut self) -> Vec<Plan> {
        let mut plans = vec![];
        let plain = |points, allowed, param| Plan {
            points,
            allowed,
            param,
            declares: None,
        };
        for s in 0..self.startup.len() {
            for _ in 0..self.range(1, 2) {
                let change = !self.startup[s].rw && self.chance(40);
                let mut allowed = DATA_ADDR | DATA_VALUE | if change { DATA_OLD } else { 0 };
                let mut points = vec![self.data_point(s, None, change)];
                // Two spellings of one point, or a second watch's point, share the body.
                if self.chance(15) {
                    let t = self.below(self.startup.len());
                    let also = change && !self.startup[t].rw;
                    if !also {
                        allowed &= !DATA_OLD;
                    }
                    points.push(self.data_point(t, None, also));
                }
                plans.push(plain(points, allowed, None));
            }
            for (sub, allowed) in SUBS {
                if self.chance(40) {
                    let change = self.chance(30);
                    let mut points = vec![self.data_point(s, Some(sub), change)];
                    let mut allowed = allowed;
                    if self.chance(25) {
                        let (other, a) = SUBS[self.below(3)];
                        points.push(self.data_point(s, Some(other), false));
                        allowed &= a;
                    }
                    plans.push(plain(points, allowed, None));
                }
            }
        }
        for w in 0..self.named.len() {
            let (name, param, change) = {
                let n = &self.named[w];
                (n.name.clone(), n.param.clone(), n.change)
            };
            let hit = DATA_ADDR | DATA_VALUE | if change { DATA_OLD } else { 0 };
            let len = self.pick(&[1u8, 2, 4, 8]);
            let addr = match &param {
                Some(p) => p.clone(),
                None => {
                    let v = BASE + 0x400 + 8 * self.below(16) as u64;
                    match self.below(3) {
                        0 => format!("{v:#x}"),
                        _ => format!("\"{}\"", self.pick(SYMBOLS)),
                    }
                }
            };
            let mut c = vec![comp("kernel", None), comp("data", Some(addr))];
            if len != 1 || self.chance(30) {
                c.push(comp("length", Some(len.to_string())));
            }
            let access = match (change, self.chance(30)) {
                (true, _) => "change",
                (false, true) => "rw",
                (false, false) => "write",
            };
            c.push(comp(access, None));
            if self.chance(40) {
                let p = self.pick(&[0, 1, -3, 100, 2147483647]);
                c.push(comp("priority", Some(p.to_string())));
            }
            plans.push(Plan {
                points: vec![Point(c)],
                allowed: hit,
                param: param.clone(),
                declares: Some((name.clone(), param.clone())),
            });
            if self.chance(20) {
                plans.push(plain(
                    vec![Point(vec![comp(&name, None)])],
                    hit,
                    param.clone(),
                ));
            }
            for (sub, allowed) in SUBS {
                if self.chance(40) {
                    let mut points = vec![Point(vec![comp(&name, None), comp(sub, None)])];
                    let mut allowed = allowed;
                    if self.chance(25) {
                        let (other, a) = SUBS[self.below(3)];
                        points.push(Point(vec![comp(&name, None), comp(other, None)]));
                        allowed &= a;
                    }
                    plans.push(plain(points, allowed, param.clone()));
                }
            }
        }
        for _ in 0..self.range(1, 4) {
            let points = (0..self.pick(&[1, 1, 1, 2, 3]))
                .map(|_| self.plain_point())
                .collect();
            plans.push(plain(points, 0, None));
        }
        // A start-up watch's hit sharing a body with a begin probe.
        if !self.startup.is_empty() && self.chance(10) {
            let s = self.below(self.startup.len());
            let points = vec![
                Point(vec![comp("begin", None)]),
                self.data_point(s, None, false),
            ];
            plans.push(plain(points, 0, None));
        }
        plans
    }

    pub fn probes(&mut self) -> Vec<Item> {
        self.make_startup();
        self.make_named();
        let plans = self.plans();
        plans.into_iter().map(|p| self.probe(p)).collect()
    }

    fn probe(&mut self, p: Plan) -> Item {
        let mut b = Body::probe(p.allowed, p.param);
        b.ending = p.points.iter().all(|pt| pt.0[0].0 == "end");
        let cond = self.chance(20).then(|| self.expr(&mut b, Ty::Long, 2));
        let body = self.stmts(&mut b, 0, 1, 4);
        Item::Probe(ProbeDecl {
            watch: p.declares,
            points: p.points,
            cond,
            body,
        })
    }

    /// A probe that gives every global not yet typed (or not used) a value, and enables every
    /// named watchpoint nothing enables yet.
    pub fn epilogue(&mut self) -> Vec<Item> {
        let mut body = vec![];
        for g in 0..self.globals.len() {
            let done = (self.facts.typed.contains(&g) || self.globals[g].init)
                && self.facts.used.contains(&g);
            if done {
                continue;
            }
            let name = self.globals[g].name.clone();
            let target = match self.globals[g].shape.clone() {
                Shape::Scalar(_) => Expr::Var(name),
                Shape::Array { keys, .. } => Expr::Index(
                    name,
                    keys.into_iter()
                        .map(|t| Expr::Lit(self.literal(t)))
                        .collect(),
                ),
            };
            let val = match &self.globals[g].shape {
                Shape::Scalar(t) | Shape::Array { val: t, .. } => *t,
            };
            let v = Expr::Lit(self.literal(val));
            body.push(Stmt::Expr(Expr::Assign("=", Box::new(target), Box::new(v))));
        }
        for w in 0..self.named.len() {
            if self.facts.enabled.contains(&w) {
                continue;
            }
            let arg = self.named[w].param.as_ref().map(|_| {
                Expr::Call(
                    "symbol_address".into(),
                    vec![Expr::Lit("\"jiffies_64\"".into())],
                )
            });
            body.push(Stmt::Enable {
                name: self.named[w].name.clone(),
                arg,
                later: self.chance(50),
            });
        }
        if body.is_empty() {
            return vec![];
        }
        // Not `end`: an enable there does nothing (W011).
        let has_enable = body.iter().any(|s| matches!(s, Stmt::Enable { .. }));
        let point = match self.below(4) {
            0 if !has_enable => Point(vec![comp("end", None)]),
            0 => Point(vec![comp("never", None)]),
            1 => Point(vec![comp("never", None)]),
            2 => Point(vec![comp("begin", Some("-5".into()))]),
            _ => Point(vec![comp("begin", None)]),
        };
        vec![Item::Probe(ProbeDecl {
            watch: None,
            points: vec![point],
            cond: None,
            body,
        })]
    }
}
