#!/usr/bin/env python3
"""sandbox_exec.py UNIT -- CMD [ARG...]: run CMD under the sandbox of a systemd service UNIT, the
way systemd would start it, on a machine whose PID 1 is not systemd (so systemd-run cannot).

Run it as root inside a private mount namespace (`unshare -m --propagation private`); it changes
that namespace only. What it applies, from the unit's [Service] section:

  ProtectSystem=strict   every mount read-only but /dev, /proc, /sys and ReadWritePaths=
  ReadWritePaths=        bound onto themselves, writable
  ProtectHome=yes        empty read-only tmpfs on /home, /root, /run/user
  PrivateTmp=yes         fresh tmpfs on /tmp and /var/tmp
  ProtectKernelTunables  /proc/sys read-only (and /sys, already read-only in the tests)
  ProtectProc=invisible  a proc mount with hidepid=invisible
  DevicePolicy=closed    a /dev with null, zero, full, random, urandom, tty and DeviceAllow= nodes
  UMask=                 umask
  CapabilityBoundingSet= / AmbientCapabilities= / NoNewPrivileges=   through setpriv(1)
  MemoryDenyWriteExecute prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) (the kernel's own form of it)
  SystemCallFilter=      a libseccomp allow list of the groups' calls (systemd-analyze
                         syscall-filter expands them), everything else EPERM
  RestrictAddressFamilies=  socket() allowed only for the listed families
  RestrictNamespaces=yes unshare/setns refused, clone only without CLONE_NEW* flags

Directives it does not know make it fail (so a new one in the unit is not silently untested),
except those that concern the service manager rather than the process (Type=, Restart=, ...).
Paths the command needs from outside (a notify socket, say) must be bound under a writable path
before: PrivateTmp hides the test's /tmp.
"""
import ctypes
import json
import os
import subprocess
import sys

MANAGER_ONLY = {
    "Type", "ExecStart", "ExecStartPre", "ExecReload", "WatchdogSec", "Restart", "RestartSec",
    "RuntimeDirectory", "RuntimeDirectoryPreserve", "SystemCallArchitectures", "LockPersonality",
    "RestrictRealtime", "RestrictSUIDSGID", "ProtectClock", "ProtectHostname", "ProtectKernelModules",
    "ProtectKernelLogs", "ProtectControlGroups",
}
# Not emulated, and why (printed, so the test log says what was and was not applied):
NOT_EMULATED = {
    "SystemCallArchitectures": "native only: the filter below is for this architecture anyway",
    "LockPersonality": "personality(2) is outside the allow list unless a group names it",
    "RestrictRealtime": "sched_setscheduler stays in @system-service; not narrowed",
    "RestrictSUIDSGID": "no setuid files are created by the helper; not filtered",
    "ProtectClock": "clock_settime/adjtimex are not in @system-service: refused by the filter",
    "ProtectHostname": "sethostname is not in @system-service: refused by the filter",
    "ProtectKernelModules": "the bounding set has no CAP_SYS_MODULE",
    "ProtectKernelLogs": "the bounding set has no CAP_SYSLOG",
    "ProtectControlGroups": "the tests' cgroupfs is not written by the helper; not remounted",
}

SOURCE = ""  # this program's text, for stage 2
AF = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}
CLONE_NEW = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080


def service_section(path):
    out, inside = [], False
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                inside = line == "[Service]"
                continue
            if inside and "=" in line:
                k, v = line.split("=", 1)
                out.append((k.strip(), v.strip()))
    return out


def sh(*args):
    subprocess.run(list(args), check=True)


def mountpoints():
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4].replace("\\040", " ") for line in f]


def setup_mounts(d, device_allow):
    rw = d.get("ReadWritePaths", "").split()
    for p in rw:
        os.makedirs(p, exist_ok=True)
    if d.get("PrivateTmp") == "yes":
        for p in ("/tmp", "/var/tmp"):
            sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", p)
    if d.get("ProtectHome") == "yes":
        for p in ("/home", "/root", "/run/user"):
            if os.path.isdir(p):
                sh("mount", "-t", "tmpfs", "-o", "ro,mode=0755", "tmpfs", p)
    if "DevicePolicy" in d:
        nodes = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]
        nodes += [v.split()[0] for v in device_allow]
        stage = "/run/.sandbox-dev"
        os.makedirs(stage, exist_ok=True)
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", stage)
        for n in nodes:
            if not os.path.exists(n):
                continue
            target = stage + n[len("/dev"):]
            os.makedirs(os.path.dirname(target), exist_ok=True)
            open(target, "a").close()
            sh("mount", "--bind", n, target)
        sh("mount", "--move", stage, "/dev")
    if d.get("ProtectProc") == "invisible":
        sh("mount", "-t", "proc", "-o", "hidepid=invisible", "proc", "/proc")
    if d.get("ProtectSystem") == "strict":
        # Deepest first does not matter for remounts; /dev, /proc and /sys keep their own rules.
        for mp in mountpoints():
            if mp.startswith(("/dev", "/proc", "/sys")):
                continue
            subprocess.run(["mount", "-o", "remount,bind,ro", mp], check=False)
        for p in rw:
            sh("mount", "--bind", p, p)
            sh("mount", "-o", "remount,bind,rw", p)
    if d.get("ProtectKernelTunables") == "yes":
        sh("mount", "--bind", "/proc/sys", "/proc/sys")
        sh("mount", "-o", "remount,bind,ro", "/proc/sys")


def expand(group, seen=None):
    seen = set() if seen is None else seen
    if group in seen:
        return set()
    seen.add(group)
    out = subprocess.run(["systemd-analyze", "syscall-filter", group], check=True, capture_output=True,
                         text=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        w = line.strip()
        if not w or w.startswith("#"):
            continue
        calls |= expand(w, seen) if w.startswith("@") else {w}
    return calls


class ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_EQ, SCMP_CMP_MASKED_EQ = 4, 7


def scmp_errno(e):
    return 0x00050000 | (e & 0xFFFF)


def load_seccomp(d):
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(ArgCmp)]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    ctx = lib.seccomp_init(scmp_errno(1))  # EPERM, as systemd's default action
    calls = set()
    for g in d.get("SystemCallFilter", "").split():
        calls |= expand(g) if g.startswith("@") else {g}
    special = {"socket", "clone", "clone3", "unshare", "setns"}

    def rule(action, name, cmps=()):
        nr = lib.seccomp_syscall_resolve_name(name.encode())
        if nr < 0:
            return  # not a call of this architecture
        arr = (ArgCmp * max(1, len(cmps)))(*cmps)
        if lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), arr) != 0:
            raise SystemExit(f"sandbox_exec: seccomp rule for {name} failed")

    for c in sorted(calls - special):
        rule(SCMP_ACT_ALLOW, c)
    fams = d.get("RestrictAddressFamilies", "").split()
    if "socket" in calls:
        if fams:
            for f in fams:
                rule(SCMP_ACT_ALLOW, "socket", [ArgCmp(0, SCMP_CMP_EQ, AF[f], 0)])
        else:
            rule(SCMP_ACT_ALLOW, "socket")
    restrict_ns = d.get("RestrictNamespaces") == "yes"
    if "clone" in calls:
        rule(SCMP_ACT_ALLOW, "clone", [ArgCmp(0, SCMP_CMP_MASKED_EQ, CLONE_NEW, 0)] if restrict_ns else [])
    if "clone3" in calls:
        # Its flags are in memory, out of seccomp's reach: ENOSYS makes glibc fall back to clone.
        rule(scmp_errno(38) if restrict_ns else SCMP_ACT_ALLOW, "clone3")
    for c in ("unshare", "setns"):
        if c in calls and not restrict_ns:
            rule(SCMP_ACT_ALLOW, c)
    if lib.seccomp_load(ctx) != 0:
        raise SystemExit("sandbox_exec: seccomp_load failed")
    return len(calls)


def main():
    global SOURCE
    if "__file__" in globals():
        with open(__file__) as f:
            SOURCE = f.read()
    argv = sys.argv[1:]
    stage2 = argv[:1] == ["--stage2"]
    if stage2:
        argv = argv[1:]
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: sandbox_exec.py UNIT -- CMD [ARG...]")
    unit, cmd = argv[0], argv[2:]
    # Stage 2 runs after the mounts, where the unit file may be hidden (PrivateTmp=): it gets
    # the directives from stage 1 through the environment, and the command does not see them.
    if stage2:
        items = [tuple(kv) for kv in json.loads(os.environ.pop("SANDBOX_EXEC_DIRECTIVES"))]
    else:
        items = service_section(unit)
        os.environ["SANDBOX_EXEC_DIRECTIVES"] = json.dumps(items)
    d = dict(items)  # the last value of a key; DeviceAllow= may repeat
    device_allow = [v for k, v in items if k == "DeviceAllow"]
    known = MANAGER_ONLY | {"ReadWritePaths", "PrivateTmp", "ProtectHome", "DevicePolicy", "DeviceAllow",
                            "ProtectProc", "ProtectSystem", "ProtectKernelTunables", "UMask",
                            "CapabilityBoundingSet", "AmbientCapabilities", "NoNewPrivileges",
                            "MemoryDenyWriteExecute", "SystemCallFilter", "RestrictAddressFamilies",
                            "RestrictNamespaces"}
    unknown = sorted({k for k, _ in items} - known)
    if unknown:
        raise SystemExit(f"sandbox_exec: directives not emulated: {', '.join(unknown)}")
    if not stage2:
        setup_mounts(d, device_allow)
        for k in sorted(NOT_EMULATED):
            if k in d:
                print(f"sandbox_exec: {k}={d[k]}: {NOT_EMULATED[k]}", file=sys.stderr)
        caps = [c.lower() for c in d.get("CapabilityBoundingSet", "").split()]
        amb = [c.lower() for c in d.get("AmbientCapabilities", "").split()]
        setpriv = ["setpriv", "--bounding-set", ",".join(["-all"] + ["+" + c[4:] for c in caps])]
        if amb:
            plus = ",".join(["-all"] + ["+" + c[4:] for c in amb])
            setpriv += ["--inh-caps", plus, "--ambient-caps", plus]
        if d.get("NoNewPrivileges") == "yes" or "SystemCallFilter" in d:
            setpriv.append("--no-new-privs")
        # Stage 2 runs from this file's text, read before the mounts: the file itself may now be
        # hidden (ProtectHome= over a tree under /root, PrivateTmp= over one under /tmp).
        os.execvp("setpriv", setpriv + [sys.executable, "-c", SOURCE, "--stage2", unit, "--"] + cmd)
    if "UMask" in d:
        os.umask(int(d["UMask"], 8))
    if d.get("MemoryDenyWriteExecute") == "yes":
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
            raise SystemExit(f"sandbox_exec: PR_SET_MDWE: {os.strerror(ctypes.get_errno())}")
    n = load_seccomp(d) if "SystemCallFilter" in d else 0
    print(f"sandbox_exec: {unit}: mounts, capabilities, no_new_privs, MDWE and a filter of {n} calls "
          f"applied; exec {cmd[0]}", file=sys.stderr, flush=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
