//! Interned names: one copy of each distinct identifier, string literal or embedded-C text
//! for the whole run, shared by every file and every thread. Pass 1 makes about one token per
//! three bytes of script; with each name a `Name` (one pointer) instead of an owned `String`,
//! tokens are small and lexing a name allocates only the first time that name is seen.
//!
//! The texts are leaked on purpose: a run parses one script and the tapsets it needs, and the
//! distinct names of those are few next to their uses. Lookups go through one mutex; it is held
//! for a hash and a compare, and the translator parses one file at a time per thread.

use rustc_hash::FxHashSet;
use std::borrow::{Borrow, Cow};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, Mutex};

/// An interned text: a thin pointer that derefs to `&'static str`. Two `Name`s are equal when
/// their texts are (the same text is always the same pointer, which `eq` tries first).
#[derive(Clone, Copy)]
pub struct Name(&'static Text);

/// A leaked text behind one more pointer, so that a `Name` is one word rather than a `&str`'s
/// two (a token is then 40 bytes, not 48).
struct Text(&'static str);

impl Text {
    fn leak(s: Box<str>) -> &'static Text {
        Box::leak(Box::new(Text(Box::leak(s))))
    }
    fn str(&'static self) -> &'static str {
        self.0
    }
}

/// The words the parser looks for, interned first (from this table) so that it finds them by
/// address rather than by comparing strings: the reserved words, which cannot name anything
/// (`RESERVED` of them), then words that are keywords only where the parser expects one.
/// `kw` names them.
static WORDS: [Text; 21] = [
    Text("probe"),
    Text("global"),
    Text("function"),
    Text("if"),
    Text("else"),
    Text("while"),
    Text("for"),
    Text("foreach"),
    Text("in"),
    Text("break"),
    Text("continue"),
    Text("next"),
    Text("return"),
    Text("delete"),
    Text("private"),
    Text("try"),
    Text("catch"),
    Text("long"),
    Text("string"),
    Text("limit"),
    Text("later"),
];
const RESERVED: usize = 17;

/// The parser's words as `Name`s, to compare with `Name::is`.
pub mod kw {
    use super::{Name, WORDS};
    pub const PROBE: Name = Name(&WORDS[0]);
    pub const GLOBAL: Name = Name(&WORDS[1]);
    pub const FUNCTION: Name = Name(&WORDS[2]);
    pub const IF: Name = Name(&WORDS[3]);
    pub const ELSE: Name = Name(&WORDS[4]);
    pub const IN: Name = Name(&WORDS[8]);
    pub const PRIVATE: Name = Name(&WORDS[14]);
    pub const CATCH: Name = Name(&WORDS[16]);
    pub const LONG: Name = Name(&WORDS[17]);
    pub const STRING: Name = Name(&WORDS[18]);
    pub const LIMIT: Name = Name(&WORDS[19]);
    pub const LATER: Name = Name(&WORDS[20]);
}

const _: () = assert!(std::mem::size_of::<Name>() == 8);
const _: () = assert!(std::mem::size_of::<Option<Name>>() == 8);

/// The set's key: the leaked text, hashed and compared as a `str` so that a lookup by `&str`
/// needs no allocation.
struct Key(&'static Text);

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.0.str()
    }
}
impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.0.str() == o.0.str()
    }
}
impl Eq for Key {}
impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.str().hash(h)
    }
}

static NAMES: LazyLock<Mutex<FxHashSet<Key>>> =
    LazyLock::new(|| Mutex::new(WORDS.iter().map(Key).collect()));

impl Name {
    /// The one `Name` for `s`, leaking a copy the first time `s` is seen.
    pub fn new(s: &str) -> Name {
        Name::intern(Cow::Borrowed(s))
    }

    /// As `new`, for a text already built in a `String` (reused rather than copied when new).
    pub fn from_string(s: String) -> Name {
        Name::intern(Cow::Owned(s))
    }

    /// The `Name` of `s`, which is copied (if borrowed) and leaked only when it is new.
    fn intern(s: Cow<'_, str>) -> Name {
        // A panic elsewhere while the lock was held leaves the set itself intact.
        let mut set = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = set.get(&*s) {
            return Name(k.0);
        }
        let leaked = Text::leak(s.into_owned().into_boxed_str());
        set.insert(Key(leaked));
        Name(leaked)
    }

    /// Whether any of `texts` has a `Name`: whether any text lexed so far (an identifier, a
    /// string, a piece of embedded C) or any name the passes made is one of them.
    pub fn any_exists(texts: &[&str]) -> bool {
        let set = NAMES.lock().unwrap_or_else(|e| e.into_inner());
        texts.iter().any(|s| set.contains(*s))
    }

    pub fn as_str(self) -> &'static str {
        self.0.str()
    }

    /// Whether this is one of the parser's reserved words (`probe`, `if`, `in`, ...).
    pub fn is_reserved(self) -> bool {
        WORDS[..RESERVED]
            .as_ptr_range()
            .contains(&std::ptr::from_ref(self.0))
    }

    /// Whether this is `w`, by address: a text has one `Name`. For the parser's words
    /// (`kw::IN`), where `==` would compare the texts of names that differ.
    pub fn is(self, w: Name) -> bool {
        std::ptr::eq(self.0, w.0)
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.0.str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.0.str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.0.str()
    }
}

impl PartialEq for Name {
    fn eq(&self, o: &Name) -> bool {
        std::ptr::eq(self.0, o.0) || *self.0.str() == *o.0.str()
    }
}
impl Eq for Name {}

impl PartialEq<str> for Name {
    fn eq(&self, o: &str) -> bool {
        *self.0.str() == *o
    }
}
impl PartialEq<&str> for Name {
    fn eq(&self, o: &&str) -> bool {
        *self.0.str() == **o
    }
}
impl PartialEq<String> for Name {
    fn eq(&self, o: &String) -> bool {
        *self.0.str() == **o
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.str().hash(h)
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, o: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Name {
    fn cmp(&self, o: &Name) -> std::cmp::Ordering {
        self.0.str().cmp(o.0.str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.0.str(), f)
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<Name> for String {
    fn from(n: Name) -> String {
        n.as_str().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn one_copy_per_text_across_threads() {
        let a = Name::new("name_test_x");
        let others: Vec<Name> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    if i % 2 == 0 {
                        Name::new("name_test_x")
                    } else {
                        Name::from_string("name_test_x".to_string())
                    }
                })
            })
            .map(|h| h.join().unwrap())
            .collect();
        for b in others {
            assert!(std::ptr::eq(a.as_str(), b.as_str()));
            assert_eq!(a, b);
        }
        let c = Name::new("name_test_y");
        assert_ne!(a, c);
        assert_eq!(&*c, "name_test_y");
        assert!(a < c);
        assert_eq!(format!("{a:?} {c}"), "\"name_test_x\" name_test_y");
        assert!(
            Name::new("probe").is_reserved() && Name::from_string("catch".into()).is_reserved()
        );
        assert!(!a.is_reserved() && !Name::new("limit").is_reserved());
        assert!(Name::new("in").is(kw::IN) && Name::new("limit").is(kw::LIMIT));
        assert!(!a.is(kw::IN));
        for (w, n) in [
            ("probe", kw::PROBE),
            ("global", kw::GLOBAL),
            ("function", kw::FUNCTION),
            ("if", kw::IF),
            ("else", kw::ELSE),
            ("in", kw::IN),
            ("private", kw::PRIVATE),
            ("catch", kw::CATCH),
            ("long", kw::LONG),
            ("string", kw::STRING),
            ("limit", kw::LIMIT),
            ("later", kw::LATER),
        ] {
            assert_eq!(n.as_str(), w);
        }
    }
}
