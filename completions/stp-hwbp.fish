complete -c stp-hwbp -s e -d 'Run the script given as text; all positional words are its arguments' -r
complete -c stp-hwbp -s p -d 'Stop after pass N (1 parse, 2 elaborate, 3 C, 4 build, 5 run) and print its result' -r
complete -c stp-hwbp -s r -d 'Target kernel: a release under /lib/modules, or a build-tree directory' -r
complete -c stp-hwbp -s a -d 'Target architecture: x86_64 or arm64 (also aarch64); default: the -r tree\'s, else the host\'s' -r
complete -c stp-hwbp -s D -d 'Set a limit of the module (MAXACTION=1000, MAXSTRINGLEN=128, ...: each has a range), or STP_NO_OVERLOAD; other macros need -g' -r
complete -c stp-hwbp -s I -d 'Add a directory of tapsets (*.stp)' -r
complete -c stp-hwbp -s l -d 'List the probe points matching PATTERN' -r
complete -c stp-hwbp -s L -d 'List the probe points matching PATTERN with the context functions they offer' -r
complete -c stp-hwbp -s m -d 'Module name' -r
complete -c stp-hwbp -s c -d 'Run CMD through /bin/sh -c; target() is its pid; the session ends when it exits' -r
complete -c stp-hwbp -s x -d 'Set target() to PID' -r
complete -c stp-hwbp -s o -d 'Write the script\'s output to FILE' -r
complete -c stp-hwbp -s T -d 'End the session after SECONDS (a positive number, fractions allowed, at most a year)' -r
complete -c stp-hwbp -s G -d 'Set a global variable when the module loads' -r
complete -c stp-hwbp -l vm-file -d 'With --vm: copy a host file into the guest (HOST:GUEST), for tests' -r
complete -c stp-hwbp -l vm-setup -d 'With --vm: a shell command run in the guest before the script starts, for tests' -r
complete -c stp-hwbp -l vm-kernel-arg -d 'With --vm: add ARG to the guest kernel\'s command line (e.g. no5lvl), for tests' -r
complete -c stp-hwbp -l print-completions -d 'Print a shell completion script (bash, zsh, fish, elvish, powershell)' -r -f -a "bash\t''
elvish\t''
fish\t''
powershell\t''
zsh\t''"
complete -c stp-hwbp -l run-module -d 'Run an already built module (as staprun does): MODULE.ko' -r
complete -c stp-hwbp -s g -d 'Guru mode: allow embedded C in the script'
complete -c stp-hwbp -s v -d 'More output: pass timings (repeat for more)'
complete -c stp-hwbp -s w -d 'Suppress warnings'
complete -c stp-hwbp -s W -d 'Treat warnings as errors'
complete -c stp-hwbp -l dump-functions -d 'List the tapset functions with their signatures and the probes they may be called in'
complete -c stp-hwbp -l dump-probe-types -d 'List the probe point families (templates such as timer.ms(N))'
complete -c stp-hwbp -s k -d 'Keep the build directory and print its path (builds even when the module is cached)'
complete -c stp-hwbp -l no-cache -d 'Neither use nor fill the module cache ($XDG_CACHE_HOME/stp-hwbp; STP_HWBP_CACHE_MAX bounds its size, 0 turns it off)'
complete -c stp-hwbp -l vm -d 'Run inside a QEMU guest booting the target kernel (safe: the host kernel is untouched)'
complete -c stp-hwbp -l all-modules -d 'Accepted for SystemTap compatibility; has no effect'
complete -c stp-hwbp -l print-man -d 'Print the man page (roff), generated from these definitions'
complete -c stp-hwbp -s h -l help -d 'Print help (see more with \'--help\')'
complete -c stp-hwbp -s V -l version -d 'Print version'
