//! kbuild's commands for one module, recorded from a full build on a tree and replayed for the
//! next module on the same tree.
//!
//! A full kbuild of one generated module spends about half its time before the compiler sees
//! the module: make reads the kernel's Makefiles and runs some thirty compiler and assembler
//! probes (`cc-option`, `as-instr`). The commands it then runs are the same for every module
//! built on that tree with the same Kbuild file, except for the build directory and the module's
//! name, and kbuild writes each into a `.cmd` file next to what it built. After a full build
//! succeeds, those commands are stored under the module cache's `recipes/KEY/` (KEY covers
//! everything the module cache's key covers except the C and the module's name). The next
//! module replays them in kbuild's order: compile (with objtool), the object list,
//! `modules.order`, modpost, the `.mod.c` compile and the link (no BTF step: pass 4 turns
//! BTF for modules off, see `kbuild_command`). A recipe that is incomplete, or a command that fails, sends the build back to
//! the full kbuild, so that compile errors read exactly as they always do.

use std::path::Path;
use std::process::Command;

const MAGIC: &str = "stp-hwbp kbuild recipe 3";

/// What the Kbuild file has kbuild write: the environment its commands run in (`env -0`), which
/// they rely on (objtool reads `SRCARCH`, for one).
pub const ENV_FILE: &str = "stphwbp.env";

/// Variables of that environment a replay does not take over: they describe the make that ran
/// then, not the commands.
const ENV_SKIPPED: &[&str] = &[
    "PWD",
    "OLDPWD",
    "SHLVL",
    "_",
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKE_TERMOUT",
    "MAKE_TERMERR",
    "MAKEOVERRIDES",
];

/// The `.cmd` files whose commands build one module, in the order kbuild runs them; `@` stands
/// for the module's name.
const STEPS: &[&str] = &[
    ".@.o.cmd",
    ".@.mod.cmd",
    ".modules.order.cmd",
    ".Module.symvers.cmd",
    ".@.mod.o.cmd",
    ".@.ko.cmd",
];

/// An object kbuild (6.12 on) builds once per external-module directory and links into every
/// module; it does not depend on the module, so the recipe keeps the file itself.
const COMMON_OBJECT: &str = ".module-common.o";

/// The command of a `.cmd` file: its first line, `cmd_TARGET := COMMAND` (`savedcmd_` since
/// 6.3), with make's `$$` turned back into the shell's `$`.
fn command_of(cmd_file: &str) -> Option<String> {
    let first = cmd_file.lines().next()?;
    let rest = first
        .strip_prefix("savedcmd_")
        .or_else(|| first.strip_prefix("cmd_"))?;
    let (_, command) = rest.split_once(" := ")?;
    let command = command.trim();
    (!command.is_empty()).then(|| command.replace("$$", "$"))
}

/// Records the commands of the successful full build of `module` in `build_dir` as the recipe
/// at `dest` (written to a temporary name, then renamed: concurrent runs see all or nothing).
/// Nothing is recorded when a step's file is missing or unreadable.
pub fn record(build_dir: &Path, module: &str, dest: &Path) -> std::io::Result<()> {
    // A replay finds the module's name in the commands by its text: only a name that cannot be
    // part of anything else there (a flag, a path in the tree) is recorded. `-m x86` is not.
    let distinct = module.starts_with("stphwbp_") && !build_dir.to_string_lossy().contains(module);
    if !distinct {
        return Err(std::io::Error::other(format!(
            "{module} is not a name a replay can find"
        )));
    }
    let mut text = format!("{MAGIC}\ndir {}\nmodule {module}\n", build_dir.display());
    for step in STEPS {
        let file = build_dir.join(step.replace('@', module));
        let cmd = std::fs::read_to_string(&file)?;
        let command = command_of(&cmd)
            .ok_or_else(|| std::io::Error::other(format!("{} holds no command", file.display())))?;
        text.push_str(&format!("run {command}\n"));
    }
    let parent = dest.parent().unwrap_or(dest);
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempdir_in(parent)?;
    std::fs::write(tmp.path().join("recipe"), text)?;
    let object_cmd = build_dir.join(format!(".{module}.o.cmd"));
    std::fs::copy(object_cmd, tmp.path().join("object.cmd"))?;
    std::fs::copy(build_dir.join(ENV_FILE), tmp.path().join("env"))?;
    let common = build_dir.join(COMMON_OBJECT);
    if common.exists() {
        std::fs::copy(common, tmp.path().join("module-common.o"))?;
    }
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, dest).is_err() {
        // Another run recorded the same recipe first.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

/// Replays the recipe at `recipe` for `module`, whose C file, runtime and Kbuild file are in
/// `build_dir` already, running each command in the tree's directory as kbuild does. Err says
/// why it did not give a module (the caller then runs the full kbuild).
pub fn replay(
    recipe: &Path,
    build_dir: &Path,
    module: &str,
    tree_dir: &Path,
) -> Result<(), String> {
    let text = std::fs::read_to_string(recipe.join("recipe")).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    if lines.next() != Some(MAGIC) {
        return Err("not a recipe of this version".into());
    }
    let old_dir = lines
        .next()
        .and_then(|l| l.strip_prefix("dir "))
        .ok_or("no build directory")?;
    let old_module = lines
        .next()
        .and_then(|l| l.strip_prefix("module "))
        .ok_or("no module name")?;
    let new_dir = build_dir.display().to_string();
    let adapt = |s: &str| s.replace(old_dir, &new_dir).replace(old_module, module);
    let mut commands: Vec<String> = vec![];
    for l in lines {
        if let Some(c) = l.strip_prefix("run ") {
            commands.push(adapt(c));
        } else {
            return Err("a malformed line".into());
        }
    }
    if commands.len() != STEPS.len() {
        return Err(format!("{} commands, not {}", commands.len(), STEPS.len()));
    }
    let object_cmd =
        std::fs::read_to_string(recipe.join("object.cmd")).map_err(|e| e.to_string())?;
    let env_text = std::fs::read(recipe.join("env")).map_err(|e| e.to_string())?;
    let env: Vec<(String, String)> = String::from_utf8_lossy(&env_text)
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| !k.is_empty() && !ENV_SKIPPED.contains(k))
        .map(|(k, v)| (k.to_string(), adapt(v)))
        .collect();
    if !env.iter().any(|(k, _)| k == "SRCARCH") {
        return Err("the recorded environment lacks kbuild's variables".into());
    }
    let common = recipe.join("module-common.o");
    for (step, command) in STEPS.iter().copied().zip(&commands) {
        match step {
            // modpost reads the object's dependency list (for the module's srcversion), which
            // kbuild writes after the compile.
            ".@.mod.cmd" => {
                std::fs::write(
                    build_dir.join(format!(".{module}.o.cmd")),
                    adapt(&object_cmd),
                )
                .map_err(|e| e.to_string())?;
            }
            ".@.ko.cmd" if common.exists() => {
                std::fs::copy(&common, build_dir.join(COMMON_OBJECT)).map_err(|e| e.to_string())?;
            }
            _ => {}
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(tree_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env_remove("MAKEFLAGS")
            .env_remove("MFLAGS")
            .env_remove("MAKELEVEL")
            .output()
            .map_err(|e| format!("cannot run sh: {e}"))?;
        if !out.status.success() {
            return Err(format!("`{}` failed", step.replace('@', module)));
        }
    }
    if build_dir.join(format!("{module}.ko")).exists() {
        Ok(())
    } else {
        Err("the link left no module".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_come_from_both_cmd_spellings() {
        let old =
            "cmd_/b/x.mod := printf '%s\\n' x.o | awk '!x[$$0]++' > /b/x.mod\n\nsource_x := y\n";
        assert_eq!(
            command_of(old).as_deref(),
            Some("printf '%s\\n' x.o | awk '!x[$0]++' > /b/x.mod")
        );
        let new = "savedcmd_/b/x.ko := ld -r -o /b/x.ko /b/x.o;  true\n";
        assert_eq!(
            command_of(new).as_deref(),
            Some("ld -r -o /b/x.ko /b/x.o;  true")
        );
        assert_eq!(command_of("deps_x := \\\n"), None);
        assert_eq!(command_of("cmd_x := \n"), None);
    }

    #[test]
    fn only_a_distinct_module_name_is_recorded() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("recipes").join("k");
        let err = record(d.path(), "x86", &dest).unwrap_err();
        assert!(err.to_string().contains("x86 is not a name"), "{err}");
        assert!(!dest.exists());
    }

    #[test]
    fn an_incomplete_build_records_nothing() {
        let d = tempfile::tempdir().unwrap();
        let cmd = "cmd_stphwbp_m.o := gcc -c stphwbp_m.c\n";
        std::fs::write(d.path().join(".stphwbp_m.o.cmd"), cmd).unwrap();
        let dest = d.path().join("recipes").join("k");
        assert!(record(d.path(), "stphwbp_m", &dest).is_err());
        assert!(!dest.exists());
    }
}
