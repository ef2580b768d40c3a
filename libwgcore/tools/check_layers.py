#!/usr/bin/env python3
"""check_layers.py SRC_DIR [--self-test] [--public-only DIR...]: libwgcore's layers, checked on
the sources.

Each folder of libwgcore/src may include its own headers, the public ones (wgcore/...) and the
folders listed for it in LAYERS, nothing else; the folders form no cycle; and the protocol core
(core/, core/crypto/) includes no operating-system interface header (<linux/...>, <sys/...>,
sockets, files): it does no I/O, so nothing of that kind may creep in. Tests, benchmarks and
testing/ are exempt (they may reach anything). With --public-only, each DIR (the integrations:
tools, nm-plugin, frr-wgd, networkd-helper, routing) includes no folder of libwgcore/src at all,
only the public headers, as an application would (their tests and test fixtures are exempt);
the build enforces the same by handing them only include/. meson runs this at configure time (a violation
fails the build setup) and as the unit test `layers`; --self-test also proves it catches a core
file that includes a Linux header or a folder that closes a cycle.
"""
import os
import re
import shutil
import sys
import tempfile

LAYERS = {
    "core": set(),
    "common": {"core"},                # implements core/environment.hpp (system clock, CSPRNG)
    "model": {"core"},
    "embed": {"core", "model"},
    "linux": {"core"},
    "uapi": {"common", "core"},
    "config": {"common", "support"},   # support/: the project's text helpers, below libwgcore
    "device": {"common", "core", "embed", "linux", "model"},
    "netlink": {"common", "core", "model"},
    "control": {"common", "core", "device", "linux", "model", "netlink", "uapi"},
}
EXEMPT_DIRS = {"testing"}
CORE_FORBIDDEN = re.compile(r"^(linux|sys|net|netinet|arpa|netlink)/|^(unistd|fcntl|poll|malloc|ifaddrs|netdb)\.h$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def exempt(name):
    return name.endswith(("_test.cpp", "_bench.cpp", "_test.c")) or name.startswith("fuzz_")


def check_public_only(src, dirs):
    """Integration sources that include an internal folder of libwgcore (libwgcore/src/X/...)."""
    internal = {d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d))}
    problems = []
    for top in dirs:
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp", ".h", ".c")) or exempt(name) or "test" in name or "fixture" in name:
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) == '"' and "/" in m.group(2) and m.group(2).split("/", 1)[0] in internal:
                            problems.append(f"{path}:{n}: includes {m.group(2)}, an internal header of libwgcore "
                                            "(integrations use include/wgcore/ only)")
    return problems


def check(src):
    problems = []
    for layer in sorted(os.listdir(src)):
        root = os.path.join(src, layer)
        if not os.path.isdir(root) or layer in EXEMPT_DIRS:
            continue
        if layer not in LAYERS:
            problems.append(f"{layer}/: a folder check_layers.py does not know (add it to LAYERS)")
            continue
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if not name.endswith((".cpp", ".hpp", ".h", ".c")) or exempt(name):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, src)
                with open(path, encoding="utf-8") as f:
                    for n, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        kind, target = m.groups()
                        if kind == "<":
                            if layer == "core" and CORE_FORBIDDEN.search(target):
                                problems.append(f"{rel}:{n}: the protocol core includes <{target}>, an OS interface")
                            continue
                        top = target.split("/", 1)[0] if "/" in target else None
                        if top is None or top in (layer, "wgcore") or target == "wgcore.h":
                            continue
                        if top not in LAYERS[layer]:
                            problems.append(f"{rel}:{n}: {layer}/ may not include {target} ({top}/ is not below it)")
    # Every include follows LAYERS, so LAYERS being acyclic means the folders are too.
    state = {}

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(LAYERS.get(node, ())):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                problems.append("include cycle: " + " -> ".join(cycle))
            elif not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(LAYERS):
        if not state.get(node):
            visit(node, [node])
    return problems


def self_test(src):
    def with_file(rel, text):
        tmp = tempfile.mkdtemp(prefix="wgcore-layers.")
        try:
            copy = os.path.join(tmp, "src")
            shutil.copytree(src, copy, ignore=shutil.ignore_patterns("*_test.cpp", "*_bench.cpp"))
            with open(os.path.join(copy, rel), "w", encoding="utf-8") as f:
                f.write(text)
            return check(copy)
        finally:
            shutil.rmtree(tmp)

    cases = [
        ("core/probe.cpp", '#include "linux/tun.hpp"\n', "core/ may not include linux/tun.hpp"),
        ("core/probe.cpp", "#include <linux/if_tun.h>\n", "the protocol core includes <linux/if_tun.h>"),
        ("core/crypto/probe.cpp", "#include <sys/socket.h>\n", "the protocol core includes <sys/socket.h>"),
        ("model/probe.cpp", '#include "netlink/wg_genl.hpp"\n', "model/ may not include netlink/wg_genl.hpp"),
        ("core/probe.cpp", '#include "model/config_model.hpp"\n', "core/ may not include"),
    ]
    ok = True
    tmp = tempfile.mkdtemp(prefix="wgcore-public.")
    try:
        with open(os.path.join(tmp, "tunnel.cpp"), "w", encoding="utf-8") as f:
            f.write('#include "wgcore/interface.hpp"\n#include "device/device.hpp"\n')
        got = check_public_only(src, [tmp])
        if not any("tunnel.cpp:2: includes device/device.hpp" in p for p in got) or len(got) != 1:
            print(f"self-test: an integration including device/device.hpp not caught (got {got})")
            ok = False
    finally:
        shutil.rmtree(tmp)
    for rel, text, want in cases:
        got = with_file(rel, text)
        if not any(want in p for p in got):
            print(f"self-test: {rel} with {text.strip()!r} not caught (got {got})")
            ok = False
    return ok


def main():
    args = sys.argv[1:]
    public_only = []
    if "--public-only" in args:
        i = args.index("--public-only")
        public_only, args = args[i + 1:], args[:i]
    if len(args) not in (1, 2) or (len(args) == 2 and args[1] != "--self-test"):
        sys.exit("usage: check_layers.py SRC_DIR [--self-test] [--public-only DIR...]")
    src = args[0]
    problems = check(src) + check_public_only(src, public_only)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    if len(args) == 2 and not self_test(src):
        sys.exit(1)
    print(f"libwgcore layers: {len(LAYERS)} folders, no forbidden include, no cycle"
          + (f"; {len(public_only)} integration folders on public headers only" if public_only else ""))


if __name__ == "__main__":
    main()
