"""Linux process isolation for the sandbox worker: namespaces, capabilities, process trees.

Standard library only (loaded by path inside the worker).
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import stat
import struct
import tempfile
from pathlib import Path
from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 0x4000, 1 << 18, 1 << 21
# Per-mount flags a bind remount must repeat (in a user namespace they are locked).
_KEPT_FLAGS = {
    "nosuid": MS_NOSUID,
    "nodev": MS_NODEV,
    "noexec": MS_NOEXEC,
    "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME,
    "relatime": MS_RELATIME,
}
PR_SET_KEEPCAPS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 8, 38, 47, 4
PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 36, 4, 24
CAP_DAC_READ_SEARCH = 2
# keyctl(2) by architecture; KEYCTL_JOIN_SESSION_KEYRING with no name makes a new anonymous one.
_KEYCTL = {"x86_64": 250, "aarch64": 219, "i686": 288, "armv7l": 311, "ppc64le": 271, "s390x": 280}
KEYCTL_JOIN_SESSION_KEYRING = 1


def prctl(option: int, value: int = 0) -> int:
    return int(_libc.prctl(option, value, 0, 0, 0))


def _write_file(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def enter_namespaces(scratch_mb: int) -> dict[str, Any]:
    """Unshare what the host allows; returns (in the worker proper) what is in force.

    When a PID namespace is made, this process forks: the parent (launcher) only
    waits and never returns; the child continues as PID 1 of the new namespace.
    """
    root = os.geteuid() == 0
    uid, gid = os.getuid(), os.getgid()
    user = 0 if root else CLONE_NEWUSER
    layers = {"network": False, "pid": False, "user": False, "scratch_mb": 0, "read_only": False}
    for flags in (
        user | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWNS,
        user | CLONE_NEWNET | CLONE_NEWNS,
        user | CLONE_NEWNET,
    ):
        if _libc.unshare(flags) == 0:
            layers.update(network=True, pid=bool(flags & CLONE_NEWPID), user=not root)
            break
    else:
        return layers
    if layers["user"]:
        # Map our own ids so the code sees its real uid (unprivileged, single-id maps).
        try:
            _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
            _write_file("/proc/self/setgroups", "deny")
            _write_file("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError:
            pass  # unmapped ids show as 65534; the isolation is the same
    if flags & CLONE_NEWNS and _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) == 0:
        target = tempfile.gettempdir().encode()
        options = f"size={scratch_mb}m,mode=1777".encode()
        if _libc.mount(b"tmpfs", target, b"tmpfs", MS_NOSUID | MS_NODEV, options) == 0:
            layers["scratch_mb"] = scratch_mb
            layers["read_only"] = remount_read_only(target.decode())
    if layers["pid"]:
        pid = os.fork()
        if pid:
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1):  # so the pool sees EOF as soon as the worker proper ends
                os.dup2(devnull, fd)
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    return layers


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def remount_read_only(writable: str) -> bool:
    """Make every mount of this (private) mount namespace read-only but ``writable``.

    The second line of defence for files: without Landlock, this is what stops
    the code writing anywhere but the scratch tmpfs. True when every mount took it.
    """
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        mounts = [
            (_unescape(fields[4]), fields[5].split(","), fields[fields.index("-") + 1])
            for fields in (line.split() for line in f)
        ]
    complete = True
    for mount_point, options, fstype in mounts:
        # cgroup files stay writable for the worker (root-owned: the code's uid cannot write them)
        if mount_point == writable or "ro" in options or fstype in ("cgroup", "cgroup2"):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in options:
            flags |= _KEPT_FLAGS.get(option, 0)
        if _libc.mount(None, mount_point.encode(), None, flags, None) != 0:
            complete = False
    return complete


def world_readable(path: str) -> bool:
    """True when every directory on the way to ``path`` lets others search it and it is readable."""
    current = Path(path).resolve()
    for part in [*reversed(current.parents), current]:
        try:
            mode = os.stat(part).st_mode
        except OSError:
            return False
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return False
    return bool(os.stat(current).st_mode & stat.S_IROTH)


def count_user_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` (what RLIMIT_NPROC counts) outside any user namespace."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
            except OSError:
                pass
    return count


def capset(mask: int) -> None:
    header = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = struct.pack("=6I", mask, mask, 0, 0, 0, 0)
    if _libc.capset(ctypes.create_string_buffer(header), ctypes.create_string_buffer(data)) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def drop_bounding_set() -> None:
    """Drop every capability from the bounding set (nothing can be regained, even by exec)."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:
            return  # EINVAL: past the last capability this kernel knows


def join_fresh_session_keyring() -> bool:
    """Replace the inherited session keyring with a new empty one; False where not possible."""
    number = _KEYCTL.get(os.uname().machine)
    if number is None:
        return False
    _libc.syscall.restype = ctypes.c_long
    return (
        int(_libc.syscall(ctypes.c_long(number), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None))
        >= 0
    )


def descendants_of(parent: int) -> list[int]:
    """Descendants of ``parent`` (fallback without a PID namespace)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [], [parent]
    while frontier:
        current = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == current]
        found += kids
        frontier += kids
    return found


def kill_quietly(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
