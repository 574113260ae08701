"""The file view of the code under test: a chroot holding read-only binds and one fresh tmpfs.

Standard library only (loaded by path inside the worker, in its private mount
namespace). The jail is built once per worker on the worker's own tmpfs. It
holds, each bound read-only at its usual path: the system directories, a few
files of /etc, the Python installation and the import path, and the devices
``/dev/null``, ``/dev/zero``... Nothing else of the host exists inside: no /proc,
no /sys, no /run, no /var, no home directory, no host /tmp, /var/tmp or /dev/shm,
so no host file and no pathname UNIX socket can be named. Any world-writable
directory inside a bound tree is covered by an empty read-only tmpfs.

Per execution, a new size-capped tmpfs is mounted on the jail's /tmp, owned by
that execution's uid (``/dev/shm`` points into it), and detached afterwards: the
scratch space is new every time, and whatever the code left there (a tree too
deep to walk, a full disk) goes with one ``umount``.
"""

from __future__ import annotations

import ctypes
import os
import stat
import tempfile

_libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_NOATIME, MS_NODIRATIME, MS_REC, MS_RELATIME = 1024, 2048, 0x4000, 1 << 21
MNT_DETACH = 2
SYSTEM_PATHS = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"]
ETC_PATHS = [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/mime.types",
    "/etc/os-release",
    "/etc/ssl",
    "/etc/alternatives",
    "/etc/python3",
]
DEVICE_PATHS = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
# statvfs flag -> mount flag, for the flags a bind remount must repeat (locked in a user namespace).
_KEPT = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: MS_NOATIME,
    os.ST_NODIRATIME: MS_NODIRATIME,
    os.ST_RELATIME: MS_RELATIME,
}


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    result = _libc.mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        flags,
        data.encode() if data else None,
    )
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def _read_only(target: str, *, devices: bool = False) -> None:
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
    current = os.statvfs(target).f_flag
    for vfs_flag, mount_flag in _KEPT.items():
        if current & vfs_flag:
            flags |= mount_flag
    if not devices:
        flags |= MS_NODEV
    _mount(None, target, None, flags)


def world_writable_dirs(roots: list[str], limit: int = 200_000) -> list[str]:
    """Directories under ``roots`` that others may write (each would be a meeting point)."""
    found: list[str] = []
    seen = 0
    for root in roots:
        if not os.path.isdir(root) or os.path.islink(root):
            continue
        for current, dirs, _ in os.walk(root):
            seen += len(dirs)
            if seen > limit:
                return found
            for name in dirs:
                path = os.path.join(current, name)
                try:
                    mode = os.lstat(path).st_mode
                except OSError:
                    continue
                if stat.S_ISDIR(mode) and mode & stat.S_IWOTH:
                    found.append(path)
    return found


class Jail:
    """The chroot the code runs in; ``root`` is its directory in the worker's mount namespace."""

    def __init__(
        self, sources: list[str], hidden: list[str], devices: list[str] = DEVICE_PATHS
    ) -> None:
        os.umask(0o022)
        self.root = tempfile.mkdtemp(prefix="cogumi-jail-")
        os.chmod(self.root, 0o755)
        bound: list[str] = []
        for source in sorted(dict.fromkeys(os.path.normpath(s) for s in sources), key=len):
            if not os.path.lexists(source) or any(
                source == b or source.startswith(b.rstrip("/") + "/") for b in bound
            ):
                continue
            self._place(source)
            bound.append(source)
        os.makedirs(self.inside("/dev"), exist_ok=True)
        for device in devices:
            if os.path.exists(device):
                target = self.inside(device)
                open(target, "a").close()
                _mount(device, target, None, MS_BIND)
                _read_only(target, devices=True)
        os.symlink("/tmp", self.inside("/dev/shm"))
        os.makedirs(self.inside("/tmp"), exist_ok=True)
        for path in hidden:
            target = self.inside(path)
            if os.path.isdir(target):
                _mount(
                    "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755"
                )
                _read_only(target)
        self.scratch = self.inside("/tmp")

    def inside(self, path: str) -> str:
        return self.root + os.path.normpath(path)

    def _place(self, source: str) -> None:
        target = self.inside(source)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.islink(source):
            os.symlink(os.readlink(source), target)
            return
        if os.path.isdir(source):
            os.makedirs(target, exist_ok=True)
        else:
            open(target, "a").close()
        _mount(source, target, None, MS_BIND)
        _read_only(target)

    def mount_scratch(self, size_mb: int, uid: int, gid: int) -> None:
        """A new tmpfs on the jail's /tmp for one execution, writable by its uid only."""
        options = f"size={size_mb}m,mode=0700,uid={uid},gid={gid}"
        _mount("tmpfs", self.scratch, "tmpfs", MS_NOSUID | MS_NODEV, options)

    def unmount_scratch(self) -> None:
        """Detach the execution's tmpfs; its contents are freed once no process holds them."""
        while os.path.ismount(self.scratch):
            if _libc.umount2(self.scratch.encode(), MNT_DETACH) != 0:
                return
