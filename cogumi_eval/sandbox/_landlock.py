"""Landlock (Linux >= 5.13): unprivileged confinement of files, TCP and signals, via ctypes.

Standard library only (loaded by path inside the sandbox worker). A process
that calls ``confine`` can from then on read only beneath ``read_paths``, write
only beneath ``write_paths``, open no TCP connection (ABI >= 4), and signal or
reach through abstract unix sockets no process outside its own domain (ABI >= 6).
Landlock also stops it from ptrace-reading processes outside the domain, which
is what ``/proc/<pid>/environ`` needs. The restriction holds for the process and
everything it starts, root included, and cannot be lifted.
"""

from __future__ import annotations

import ctypes
import os
import struct

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same on every architecture
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ_RIGHTS = EXECUTE | READ_FILE | READ_DIR

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_long = ctypes.c_long


def _fs_rights(abi: int) -> int:
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    result = _libc.syscall(_long(_CREATE_RULESET), None, _long(0), _long(_CREATE_RULESET_VERSION))
    return int(result) if result > 0 else 0


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"landlock {what}: {os.strerror(errno)}")
    return result


def _add_path_rule(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a missing path grants nothing
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        attr = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd))
        _check(
            _libc.syscall(
                _long(_ADD_RULE), _long(ruleset), _long(_RULE_PATH_BENEATH), attr, _long(0)
            ),
            f"rule for {path}",
        )
    finally:
        os.close(fd)


def confine(read_paths: list[str], write_paths: list[str], device_paths: list[str]) -> int:
    """Restrict this process as described in the module docstring; returns the ABI applied.

    Args:
        read_paths: directories or files readable (and executable) beneath.
        write_paths: directories with every file right beneath (the temporary directory).
        device_paths: files readable and writable (``/dev/null``, ``/dev/urandom``...).
    """
    abi = abi_version()
    if abi == 0:
        raise OSError("Landlock is not available on this kernel")
    fs = _fs_rights(abi)
    fields = [fs]
    if abi >= 4:
        fields.append(NET_BIND_TCP | NET_CONNECT_TCP)
    if abi >= 6:
        fields.append(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL)
    attr = struct.pack(f"={len(fields)}Q", *fields)
    ruleset = _check(
        _libc.syscall(
            _long(_CREATE_RULESET), ctypes.create_string_buffer(attr), _long(len(attr)), _long(0)
        ),
        "create_ruleset",
    )
    try:
        for path in read_paths:
            _add_path_rule(ruleset, path, READ_RIGHTS & fs)
        for path in device_paths:
            _add_path_rule(ruleset, path, (READ_FILE | WRITE_FILE) & fs)
        for path in write_paths:
            _add_path_rule(ruleset, path, fs)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_libc.syscall(_long(_RESTRICT_SELF), _long(ruleset), _long(0)), "restrict_self")
    finally:
        os.close(ruleset)
    return abi
