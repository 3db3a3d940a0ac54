//! The target architecture: what `-a` names (or the target tree's `.config` says), and what
//! follows from it for every pass: the preprocessor's `arch`, the watch rules sema checks
//! (lengths, alignment, read-only watches, register counts), and how kbuild cross-builds.
//! It sits below `syntax`, `sema` and `kbuild` so that each of them asks it rather than
//! knowing an architecture's details itself.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Arch {
    #[default]
    X86_64,
    Arm64,
}

impl Arch {
    /// `-a`: SystemTap's spellings, and the other names people use for the same machines.
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "x86_64" | "amd64" | "x86" => Some(Arch::X86_64),
            "arm64" | "aarch64" => Some(Arch::Arm64),
            _ => None,
        }
    }

    /// The machine stp-hwbp itself runs on (the default target).
    pub fn host() -> Arch {
        if cfg!(target_arch = "aarch64") {
            Arch::Arm64
        } else {
            Arch::X86_64
        }
    }

    /// A kernel tree's architecture, from its `.config`. The host's option is looked for
    /// first: it is near the top of a native tree's file, so the usual case reads a few
    /// kilobytes, not the whole file for the option that is absent.
    pub fn from_config(config: &[u8]) -> Option<Arch> {
        let set = |a: Arch| crate::kbuild::tree::config_get(config, a.config_option()) == Some("y");
        let host = Arch::host();
        let other = match host {
            Arch::X86_64 => Arch::Arm64,
            Arch::Arm64 => Arch::X86_64,
        };
        [host, other].into_iter().find(|&a| set(a))
    }

    /// The `.config` option a tree for this architecture sets to `y`.
    pub(crate) fn config_option(self) -> &'static str {
        match self {
            Arch::X86_64 => "CONFIG_X86_64",
            Arch::Arm64 => "CONFIG_ARM64",
        }
    }

    /// The name `arch` has in the preprocessor, as SystemTap spells it (`uname -m`, except
    /// that aarch64 is `arm64`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Arm64 => "arm64",
        }
    }

    /// kbuild's `ARCH=`.
    pub fn kbuild_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86",
            Arch::Arm64 => "arm64",
        }
    }

    /// kbuild's `CROSS_COMPILE=` (Debian's cross toolchain names) when the target is not the
    /// host; None for a native build.
    pub fn cross_compile(self) -> Option<&'static str> {
        if self == Arch::host() {
            return None;
        }
        Some(match self {
            Arch::X86_64 => "x86_64-linux-gnu-",
            Arch::Arm64 => "aarch64-linux-gnu-",
        })
    }

    /// How the watchpoint hardware is called in messages.
    pub fn watch_hw(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86 debug registers",
            Arch::Arm64 => "arm64 watchpoint registers",
        }
    }

    /// Data watchpoint registers per CPU: x86's four debug registers (shared with execute
    /// breakpoints); on arm64 the architecture allows 2 to 16 and the machines this project
    /// runs on (QEMU's `-cpu max`, Cortex-A cores) have 4, apart from the breakpoint ones.
    pub fn watch_registers(self) -> usize {
        4
    }

    /// Whether a watch of `len` bytes exists at all.
    pub fn valid_len(self, len: i64) -> bool {
        match self {
            Arch::X86_64 => matches!(len, 1 | 2 | 4 | 8),
            Arch::Arm64 => (1..=8).contains(&len),
        }
    }

    /// The lengths, as a help line lists them.
    pub fn lengths_text(self) -> &'static str {
        match self {
            Arch::X86_64 => "1, 2, 4 or 8 bytes",
            Arch::Arm64 => "1 to 8 bytes",
        }
    }

    /// Whether `len` bytes at `addr` can be watched by one register: x86 needs the address
    /// aligned to the length; arm64 selects bytes within one aligned doubleword.
    pub fn fits(self, addr: u64, len: u8) -> bool {
        match self {
            Arch::X86_64 => addr % u64::from(len) == 0,
            Arch::Arm64 => (addr & 7) + u64::from(len) <= 8,
        }
    }

    /// The nearest address at or below `addr` where a watch of `len` bytes fits.
    pub fn fitting_addr(self, addr: u64, len: u8) -> u64 {
        match self {
            Arch::X86_64 => addr & !(u64::from(len) - 1),
            Arch::Arm64 => (addr & !7) + (addr & 7).min(8 - u64::from(len)),
        }
    }

    /// The alignment rule, as a help line states it.
    pub fn alignment_rule(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86 needs the address aligned to the length",
            Arch::Arm64 => "arm64 watches bytes within one aligned 8-byte doubleword",
        }
    }

    /// Read-only watchpoints (`.read`): arm64 has them; x86 does not.
    pub fn has_read_watches(self) -> bool {
        self == Arch::Arm64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_and_rules() {
        assert_eq!(Arch::parse("aarch64"), Some(Arch::Arm64));
        assert_eq!(Arch::parse("arm64").map(Arch::name), Some("arm64"));
        assert_eq!(Arch::parse("sparc"), None);
        assert!(Arch::Arm64.valid_len(3) && !Arch::X86_64.valid_len(3));
        assert!(Arch::Arm64.fits(0x1003, 4) && !Arch::X86_64.fits(0x1003, 4));
        assert!(!Arch::Arm64.fits(0x1005, 4));
        assert_eq!(Arch::Arm64.fitting_addr(0x1005, 4), 0x1004);
        assert_eq!(Arch::X86_64.fitting_addr(0x1006, 4), 0x1004);
    }

    /// An option counts only where its line starts with its name; a longer name that ends
    /// the same (`CONFIG_X_ARM64=y`) and a comment do not set it.
    #[test]
    fn arch_from_config_text() {
        let x86 = b"# CONFIG_ARM64 is not set\nCONFIG_X_ARM64=y\nCONFIG_X86_64=y\r\n";
        assert_eq!(Arch::from_config(x86), Some(Arch::X86_64));
        let arm = b"# CONFIG_X86_64 is not set\nCONFIG_ARM64=y\n";
        assert_eq!(Arch::from_config(arm), Some(Arch::Arm64));
        // A file that sets both (no real one does) is taken for the host's.
        assert_eq!(
            Arch::from_config(b"CONFIG_ARM64=y\nCONFIG_X86_64=y\n"),
            Some(Arch::host())
        );
        assert_eq!(Arch::from_config(b"CONFIG_X86_64=m"), None);
        assert_eq!(Arch::from_config(b""), None);
        let c = b"CONFIG_LOCALVERSION=\"-amd64\"\nCONFIG_HZ=250\nCONFIG_X=\xff\n";
        assert_eq!(crate::kbuild::tree::config_get(c, "CONFIG_X"), None);
        assert_eq!(crate::kbuild::tree::config_get(c, "CONFIG_HZ"), Some("250"));
        assert_eq!(
            crate::kbuild::tree::config_get(c, "CONFIG_LOCALVERSION"),
            Some("\"-amd64\"")
        );
    }
}
