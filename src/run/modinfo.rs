//! Reading the `.modinfo` section of a kernel module (`.ko`) file.
//!
//! The section holds NUL-separated `key=value` strings (`name=`, `license=`, `parm=`,
//! `parmtype=`, `vermagic=`, and the ones stp-hwbp adds with `MODULE_INFO`):
//!
//! * `stphwbp_sym=N:SYMBOL` — watch N needs the address of kernel symbol SYMBOL, passed as
//!   module parameter `stp_sym_addr_N` (see [`ModInfo::syms`]);
//! * `stphwbp_global=NAME:long` / `NAME:string` — a global settable with `-G NAME=VALUE`,
//!   passed as module parameter `g_NAME` (see [`ModInfo::globals`]).
//!
//! The ELF walk is hand-written (ELF64, little-endian, i.e. x86_64 modules): header ->
//! section headers -> section-name string table -> the section named `.modinfo`. Compressed
//! modules (`.ko.xz`, `.ko.zst`, `.ko.gz`) are not supported: the generated modules never are.

use std::path::Path;

/// The `.modinfo` entries of a module, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModInfo {
    /// `(key, value)` pairs; an entry without `=` gets an empty value.
    pub entries: Vec<(String, String)>,
}

/// Type of a `-G`-settable global (`stphwbp_global=NAME:TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobalType {
    Long,
    String,
}

impl ModInfo {
    /// Reads and parses the `.modinfo` section of the ELF file at `path`.
    pub fn from_file(path: &Path) -> Result<ModInfo, String> {
        let data =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        ModInfo::from_elf(&data).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the `.modinfo` section out of an ELF64 little-endian image.
    pub fn from_elf(data: &[u8]) -> Result<ModInfo, String> {
        let sec = find_section(data, ".modinfo")?
            .ok_or_else(|| "no .modinfo section (not a kernel module?)".to_string())?;
        Ok(ModInfo::from_section(sec))
    }

    /// Parses the raw bytes of a `.modinfo` section (NUL-separated `key=value` strings; runs
    /// of NULs used as padding are skipped).
    pub fn from_section(sec: &[u8]) -> ModInfo {
        let entries = sec
            .split(|&b| b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let s = String::from_utf8_lossy(s);
                match s.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (s.to_string(), String::new()),
                }
            })
            .collect();
        ModInfo { entries }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of `key`, in file order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The module name (`name=`).
    pub fn name(&self) -> Option<&str> {
        self.get("name").filter(|n| !n.is_empty())
    }

    /// The type of module parameter `param` from `parmtype=PARAM:TYPE` (e.g. `long`,
    /// `ulong`, `charp`), if the module has that parameter.
    pub fn param_type(&self, param: &str) -> Option<&str> {
        self.get_all("parmtype").find_map(|v| {
            let (p, t) = v.split_once(':')?;
            (p == param).then_some(t)
        })
    }

    /// `stphwbp_sym=N:SYMBOL` entries as `(N, SYMBOL)`, in file order.
    pub fn syms(&self) -> Result<Vec<(u32, String)>, String> {
        self.get_all("stphwbp_sym")
            .map(|v| {
                let bad = || format!("malformed .modinfo entry stphwbp_sym={v} (want N:SYMBOL)");
                let (n, sym) = v.split_once(':').ok_or_else(bad)?;
                let n: u32 = n.parse().map_err(|_| bad())?;
                if sym.is_empty() || sym.contains(char::is_whitespace) {
                    return Err(bad());
                }
                Ok((n, sym.to_string()))
            })
            .collect()
    }

    /// `stphwbp_kpglob=N:MODULE:PATTERN` entries (MODULE empty for the kernel) as
    /// `(N, module, pattern)`: function probe wildcards the loader expands.
    pub fn kpglobs(&self) -> Result<Vec<(u32, Option<String>, String)>, String> {
        self.get_all("stphwbp_kpglob")
            .map(|v| {
                let bad = || {
                    format!("malformed .modinfo entry stphwbp_kpglob={v} (want N:MODULE:PATTERN)")
                };
                let (n, rest) = v.split_once(':').ok_or_else(bad)?;
                let (md, pat) = rest.split_once(':').ok_or_else(bad)?;
                let n: u32 = n.parse().map_err(|_| bad())?;
                if pat.is_empty() || pat.contains([',', ' ', '"']) {
                    return Err(bad());
                }
                Ok((n, (!md.is_empty()).then(|| md.to_string()), pat.to_string()))
            })
            .collect()
    }

    /// `stphwbp_kpmax=N`: how many functions one wildcard point may match (MAXKPROBES), if
    /// the module has wildcards. Its list parameters hold one name more, so that the module
    /// itself reports a pattern matching too many: a loader passes no more than that.
    pub fn kpmax(&self) -> Result<Option<usize>, String> {
        self.get("stphwbp_kpmax")
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("malformed .modinfo entry stphwbp_kpmax={v} (want N)"))
            })
            .transpose()
    }

    /// `stphwbp_global=NAME:TYPE` entries as `(NAME, TYPE)`, in file order.
    pub fn globals(&self) -> Result<Vec<(String, GlobalType)>, String> {
        self.get_all("stphwbp_global")
            .map(|v| {
                let bad = || format!("malformed .modinfo entry stphwbp_global={v} (want NAME:long or NAME:string)");
                let (name, ty) = v.split_once(':').ok_or_else(bad)?;
                if name.is_empty() {
                    return Err(bad());
                }
                let ty = match ty {
                    "long" => GlobalType::Long,
                    "string" => GlobalType::String,
                    _ => return Err(bad()),
                };
                Ok((name.to_string(), ty))
            })
            .collect()
    }
}

fn rd<const N: usize>(data: &[u8], off: u64) -> Result<[u8; N], String> {
    let off = usize::try_from(off).map_err(|_| "ELF offset out of range".to_string())?;
    data.get(off..off.checked_add(N).ok_or("ELF offset out of range")?)
        .map(|s| s.try_into().unwrap())
        .ok_or_else(|| "truncated ELF file".to_string())
}
fn u16le(data: &[u8], off: u64) -> Result<u16, String> {
    rd::<2>(data, off).map(u16::from_le_bytes)
}
fn u32le(data: &[u8], off: u64) -> Result<u32, String> {
    rd::<4>(data, off).map(u32::from_le_bytes)
}
fn u64le(data: &[u8], off: u64) -> Result<u64, String> {
    rd::<8>(data, off).map(u64::from_le_bytes)
}

/// One section header, the fields we use.
struct Shdr {
    name: u32,
    kind: u32,
    offset: u64,
    size: u64,
    link: u32,
}

const SHT_NOBITS: u32 = 8;
const SHN_XINDEX: u16 = 0xffff;

fn slice_of(data: &[u8], offset: u64, size: u64) -> Result<&[u8], String> {
    let end = offset.checked_add(size).ok_or("ELF section out of range")?;
    let (a, b) = (usize::try_from(offset), usize::try_from(end));
    match (a, b) {
        (Ok(a), Ok(b)) if b <= data.len() => Ok(&data[a..b]),
        _ => Err("ELF section extends past the end of the file".into()),
    }
}

/// The contents of the section called `want`, `Ok(None)` if there is none.
pub fn find_section<'a>(data: &'a [u8], want: &str) -> Result<Option<&'a [u8]>, String> {
    if data.len() < 64 || &data[..4] != b"\x7fELF" {
        let hint = if data.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
            " (xz-compressed module: decompress it first)"
        } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            " (zstd-compressed module: decompress it first)"
        } else if data.starts_with(&[0x1f, 0x8b]) {
            " (gzip-compressed module: decompress it first)"
        } else {
            ""
        };
        return Err(format!("not an ELF file{hint}"));
    }
    if data[4] != 2 {
        return Err("not a 64-bit ELF file".into());
    }
    if data[5] != 1 {
        return Err("not a little-endian ELF file".into());
    }
    let shoff = u64le(data, 0x28)?;
    let shentsize = u16le(data, 0x3a)? as u64;
    let mut shnum = u16le(data, 0x3c)? as u64;
    let shstrndx_raw = u16le(data, 0x3e)?;
    if shoff == 0 {
        return Err("ELF file has no section headers".into());
    }
    if shentsize < 64 {
        return Err(format!("bad ELF section header size {shentsize}"));
    }
    let shdr = |i: u64| -> Result<Shdr, String> {
        let base = i
            .checked_mul(shentsize)
            .and_then(|o| o.checked_add(shoff))
            .ok_or("ELF section header out of range")?;
        Ok(Shdr {
            name: u32le(data, base)?,
            kind: u32le(data, base + 4)?,
            offset: u64le(data, base + 24)?,
            size: u64le(data, base + 32)?,
            link: u32le(data, base + 40)?,
        })
    };
    // Extended numbering: the real counts live in section header 0.
    let sh0 = shdr(0)?;
    if shnum == 0 {
        shnum = sh0.size;
    }
    let shstrndx = if shstrndx_raw == SHN_XINDEX {
        sh0.link as u64
    } else {
        shstrndx_raw as u64
    };
    if shnum > 1 << 20 || shstrndx >= shnum {
        return Err("bad ELF section header table".into());
    }
    let strtab_hdr = shdr(shstrndx)?;
    let strtab = slice_of(data, strtab_hdr.offset, strtab_hdr.size)?;
    for i in 1..shnum {
        let h = shdr(i)?;
        let name_off = h.name as usize;
        let Some(rest) = strtab.get(name_off..) else {
            continue;
        };
        let name = rest.split(|&b| b == 0).next().unwrap_or(&[]);
        if name == want.as_bytes() {
            if h.kind == SHT_NOBITS {
                return Ok(Some(&[]));
            }
            return slice_of(data, h.offset, h.size).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_parsing() {
        let m = ModInfo::from_section(
            b"stphwbp_sym=0:pid_max\0stphwbp_global=n:long\0\0\0stphwbp_global=s:string\0name=foo\0flag\0",
        );
        assert_eq!(m.name(), Some("foo"));
        assert_eq!(m.syms().unwrap(), vec![(0, "pid_max".to_string())]);
        assert_eq!(
            m.globals().unwrap(),
            vec![
                ("n".to_string(), GlobalType::Long),
                ("s".to_string(), GlobalType::String)
            ]
        );
        assert_eq!(m.get("flag"), Some(""));
        assert!(ModInfo::from_section(b"stphwbp_sym=x:y\0").syms().is_err());
        assert!(
            ModInfo::from_section(b"stphwbp_global=x:float\0")
                .globals()
                .is_err()
        );
    }

    #[test]
    fn not_elf() {
        assert!(ModInfo::from_elf(b"hello").is_err());
        assert!(
            ModInfo::from_elf(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0, 0])
                .unwrap_err()
                .contains("xz")
        );
        let mut bad = vec![0u8; 64];
        bad[..4].copy_from_slice(b"\x7fELF");
        bad[4] = 2;
        bad[5] = 1;
        assert!(ModInfo::from_elf(&bad).is_err());
    }

    /// A real module: a `.ko` from the build tree's kbuild, or any module the running
    /// system has uncompressed. Set `STPHWBP_TEST_KO` to point at one explicitly.
    fn some_real_ko() -> Option<std::path::PathBuf> {
        if let Ok(p) = std::env::var("STPHWBP_TEST_KO") {
            return Some(p.into());
        }
        fn walk(dir: &Path, depth: u32) -> Option<std::path::PathBuf> {
            let rd = std::fs::read_dir(dir).ok()?;
            let mut dirs = Vec::new();
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().is_some_and(|x| x == "ko") && p.is_file() {
                    return Some(p);
                }
                if depth > 0 && e.file_type().is_ok_and(|t| t.is_dir()) {
                    dirs.push(p);
                }
            }
            dirs.into_iter().find_map(|d| walk(&d, depth - 1))
        }
        walk(Path::new("/lib/modules"), 6)
    }

    #[test]
    fn real_ko() {
        // Debian's 6.1 image ships uncompressed modules (`make setup` installs it).
        let ko = some_real_ko().expect("an uncompressed .ko under /lib/modules (install linux-image-amd64), or STPHWBP_TEST_KO");
        let m = ModInfo::from_file(&ko).unwrap();
        let name = m.name().expect("name= entry");
        let stem = ko.file_stem().unwrap().to_string_lossy().replace('-', "_");
        assert_eq!(name, stem, "{}", ko.display());
        assert!(m.get("vermagic").is_some(), "{:?}", m.entries);
        assert!(m.get("license").is_some(), "{:?}", m.entries);
    }
}
