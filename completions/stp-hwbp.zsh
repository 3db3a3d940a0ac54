#compdef stp-hwbp

autoload -U is-at-least

_stp-hwbp() {
    typeset -A opt_args
    typeset -a _arguments_options
    local ret=1

    if is-at-least 5.2; then
        _arguments_options=(-s -S -C)
    else
        _arguments_options=(-s -C)
    fi

    local context curcontext="$curcontext" state line
    _arguments "${_arguments_options[@]}" : \
'-e+[Run the script given as text; all positional words are its arguments]:SCRIPT:_default' \
'-p+[Stop after pass N (1 parse, 2 elaborate, 3 C, 4 build, 5 run) and print its result]:N:_default' \
'-r+[Target kernel\: a release under /lib/modules, or a build-tree directory]:KVER|DIR:_default' \
'-a+[Target architecture\: x86_64 or arm64 (also aarch64); default\: the -r tree'\''s, else the host'\''s]:ARCH:_default' \
'*-D+[Set a limit of the module (MAXACTION=1000, MAXSTRINGLEN=128, ...\: each has a range), or STP_NO_OVERLOAD; other macros need -g]:NAME=VALUE:_default' \
'*-I+[Add a directory of tapsets (*.stp)]:DIR:_default' \
'-l+[List the probe points matching PATTERN]:PATTERN:_default' \
'-L+[List the probe points matching PATTERN with the context functions they offer]:PATTERN:_default' \
'-m+[Module name]:NAME:_default' \
'-c+[Run CMD through /bin/sh -c; target() is its pid; the session ends when it exits]:CMD:_default' \
'(-c)-x+[Set target() to PID]:PID:_default' \
'-o+[Write the script'\''s output to FILE]:FILE:_default' \
'-T+[End the session after SECONDS (a positive number, fractions allowed, at most a year)]:SECONDS:_default' \
'*-G+[Set a global variable when the module loads]:VAR=VALUE:_default' \
'*--vm-file=[With --vm\: copy a host file into the guest (HOST\:GUEST), for tests]:HOST:GUEST:_default' \
'--vm-setup=[With --vm\: a shell command run in the guest before the script starts, for tests]:CMD:_default' \
'*--vm-kernel-arg=[With --vm\: add ARG to the guest kernel'\''s command line (e.g. no5lvl), for tests]:ARG:_default' \
'--print-completions=[Print a shell completion script (bash, zsh, fish, elvish, powershell)]:SHELL:(bash elvish fish powershell zsh)' \
'--run-module=[Run an already built module (as staprun does)\: MODULE.ko]:MODULE.ko:_default' \
'-g[Guru mode\: allow embedded C in the script]' \
'*-v[More output\: pass timings (repeat for more)]' \
'-w[Suppress warnings]' \
'-W[Treat warnings as errors]' \
'--dump-functions[List the tapset functions with their signatures and the probes they may be called in]' \
'--dump-probe-types[List the probe point families (templates such as timer.ms(N))]' \
'-k[Keep the build directory and print its path (builds even when the module is cached)]' \
'--no-cache[Neither use nor fill the module cache (\$XDG_CACHE_HOME/stp-hwbp; STP_HWBP_CACHE_MAX bounds its size, 0 turns it off)]' \
'--vm[Run inside a QEMU guest booting the target kernel (safe\: the host kernel is untouched)]' \
'--all-modules[Accepted for SystemTap compatibility; has no effect]' \
'--print-man[Print the man page (roff), generated from these definitions]' \
'-h[Print help (see more with '\''--help'\'')]' \
'--help[Print help (see more with '\''--help'\'')]' \
'-V[Print version]' \
'--version[Print version]' \
'*::rest -- The script file ("-" for stdin), then its arguments ($1/@1, ...):_default' \
&& ret=0
}

(( $+functions[_stp-hwbp_commands] )) ||
_stp-hwbp_commands() {
    local commands; commands=()
    _describe -t commands 'stp-hwbp commands' commands "$@"
}

if [ "$funcstack[1]" = "_stp-hwbp" ]; then
    _stp-hwbp "$@"
else
    compdef _stp-hwbp stp-hwbp
fi
