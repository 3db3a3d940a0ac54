#!/usr/bin/env python3
"""How much of the language SystemTap users write stp-hwbp takes (`make corpus`).

usage: corpus.py [--bin PATH/TO/stp-hwbp] [--list] [--errors]
Rewrites every probe header of SystemTap's examples (systemtap-doc) to `begin`, then runs `stap -p2`
(cached in target/corpus/stap.tsv; needs the systemtap package) and `stp-hwbp -p2` on each; prints totals, and with --list one
per script: NAME stap=OK|FAIL ours=OK|FAIL first-error-line.  --errors: histogram of our first
error messages over scripts stap elaborates.
"""
import os, re, subprocess, sys, collections

EX = "/usr/share/systemtap/examples"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "corpus")
KVER = next(k for k in sorted(os.listdir("/lib/modules")) if os.path.exists(f"/lib/modules/{k}/build") and k.startswith("6.1.") )
ARGS = ["1", "1", "1", "1"]

def rewrite(text):
    out = []; i = 0; n = len(text); depth = 0
    while i < n:
        c = text[i]
        if c == '#' or text.startswith('//', i):
            j = text.find('\n', i); j = n if j < 0 else j
            out.append(text[i:j]); i = j; continue
        if text.startswith('/*', i):
            j = text.find('*/', i + 2); j = n if j < 0 else j + 2
            out.append(text[i:j]); i = j; continue
        if text.startswith('%{', i):
            j = text.find('%}', i + 2); j = n if j < 0 else j + 2
            out.append(text[i:j]); i = j; continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1]); i = j + 1; continue
        if c == '{': depth += 1
        if c == '}': depth -= 1
        m = re.match(r'probe\b', text[i:]) if depth == 0 and (i == 0 or not (text[i-1].isalnum() or text[i-1] in '_$@')) else None
        if m:
            # find the body's opening brace at paren depth 0, outside strings
            j = i + 5; pd = 0
            while j < n:
                d = text[j]
                if d == '"':
                    j += 1
                    while j < n and text[j] != '"':
                        j += 2 if text[j] == '\\' else 1
                elif d in '([': pd += 1
                elif d in ')]': pd -= 1
                elif d == '{' and pd == 0 and text[:j].rstrip().endswith(('.', ',')) and text.find('}', j) > 0 and text.find('}', j) < text.find('\n', j):
                    j = text.find('}', j)
                elif d == '{' and pd == 0: break
                j += 1
            out.append('probe begin '); i = j; continue
        out.append(c); i += 1
    return ''.join(out)

def run(cmd, timeout=60):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "timeout"

def first_err(stderr):
    for l in stderr.splitlines():
        if 'error' in l.lower() or 'ERROR' in l:
            return l.strip()[:200]
    return (stderr.strip().splitlines() or ["?"])[0][:200]

def main():
    argv = sys.argv[1:]
    binp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "release", "stp-hwbp")
    if '--bin' in argv: binp = argv[argv.index('--bin') + 1]
    os.makedirs(f"{OUT}/scripts", exist_ok=True)
    files = []
    for root, _, fs in os.walk(EX):
        for f in fs:
            if f.endswith('.stp'): files.append(os.path.join(root, f))
    files.sort()
    cache = {}
    cpath = f"{OUT}/stap.tsv"
    if os.path.exists(cpath):
        for l in open(cpath):
            k, v, e = (l.rstrip('\n').split('\t') + [''])[:3]; cache[k] = (v, e)
    rows = []
    for f in files:
        name = os.path.relpath(f, EX).replace('/', '__')
        src = open(f, errors='replace').read()
        dst = f"{OUT}/scripts/{name}"
        with open(dst, 'w') as o: o.write(rewrite(src))
        guru = ['-g'] if '%{' in src else []
        if name not in cache:
            rc, err = run(['stap', '-p2', '-r', KVER] + guru + [dst] + ARGS, 120)
            cache[name] = ('OK' if rc == 0 else 'FAIL', first_err(err).replace('\t', ' ') if rc else '')
            with open(cpath, 'a') as c: c.write(f"{name}\t{cache[name][0]}\t{cache[name][1]}\n")
        rc, err = run([binp, '-p2', '-r', KVER] + guru + [dst] + ARGS, 30)
        rows.append((name, cache[name][0], 'OK' if rc == 0 else 'FAIL', '' if rc == 0 else first_err(err)))
    st = sum(r[1] == 'OK' for r in rows); both = sum(r[1] == 'OK' and r[2] == 'OK' for r in rows)
    ours = sum(r[2] == 'OK' for r in rows)
    if '--list' in argv:
        for r in rows: print(f"{r[0]}\tstap={r[1]}\tours={r[2]}\t{r[3]}")
    if '--errors' in argv:
        h = collections.Counter()
        for r in rows:
            if r[1] == 'OK' and r[2] != 'OK':
                msg = re.sub(r'^\S+:\d+:\d+:\s*', '', r[3]); msg = re.sub(r'"[^"]*"|`[^`]*`', 'X', msg)
                h[msg[:100]] += 1
        for m, c in h.most_common(): print(f"{c:4d}  {m}")
    print(f"scripts {len(rows)}; stap elaborates {st}; stp-hwbp elaborates {ours}; both {both} ({100*both/max(st,1):.0f}% of stap's)")

main()
