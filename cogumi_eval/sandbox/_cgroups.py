"""A control group around each execution: memory (children and shared memory), processes, CPU.

Standard library only (loaded by path inside the sandbox worker). cgroup v2 is
used where our cgroup delegates the memory and pids controllers; otherwise the
v1 hierarchies (``memory``, ``pids``, ``cpu``) where they are mounted and
writable; otherwise none, and the rlimits alone apply (per process, not per
execution). ``Cgroups.probe`` says which, and ``describe`` which limits are in force.

Why a group and not rlimits: RLIMIT_AS is per process, so forked children and
memfd / shared memory together hold many times the limit; RLIMIT_NPROC counts
every process of the uid; CPU is shared per thread, so a process that forks
many children (or ``setsid`` ones) takes the CPU from its neighbours. A group
counts the whole execution, whatever it starts, and the whole group is killed.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

V2_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
V1_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read()


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def _own_paths() -> dict[str, str]:
    """Controller (or ``""`` for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    return paths


@dataclass
class Cgroups:
    """Where per-execution groups are made: ``version`` 2, 1 or 0 (none), and the parents."""

    version: int = 0
    parents: dict[str, str] = field(default_factory=dict)  # controller -> directory
    reason: str = ""
    _groups: list[str] | None = None
    _oom_before: int = 0

    @classmethod
    def probe(cls, tag: str) -> Cgroups:
        """Find a writable hierarchy; make this worker's parent group ``cogumi-<tag>`` in it."""
        try:
            own = _own_paths()
        except OSError as exc:
            return cls(reason=f"/proc/self/cgroup unreadable ({exc.strerror})")
        reasons = []
        if "" in own:
            for root in V2_ROOTS:
                base = root + own[""].rstrip("/")
                try:
                    available = set(_read(f"{base}/cgroup.controllers").split())
                except OSError:
                    continue
                if not {"memory", "pids"} <= available:
                    reasons.append(f"v2 at {root} lacks the memory/pids controllers")
                    continue
                parent = f"{base}/cogumi-{tag}"
                try:
                    wanted = " ".join(f"+{c}" for c in ("memory", "pids", "cpu") if c in available)
                    _write(f"{base}/cgroup.subtree_control", wanted)
                    os.mkdir(parent)
                    _write(f"{parent}/cgroup.subtree_control", wanted)
                except OSError as exc:
                    reasons.append(f"v2 at {root} not delegated to us ({exc.strerror})")
                    _remove(parent)
                    continue
                return cls(2, {"": parent})
        parents = {}
        for controller in V1_CONTROLLERS:
            if controller not in own:
                continue
            base = f"/sys/fs/cgroup/{controller}{own[controller].rstrip('/')}"
            parent = f"{base}/cogumi-{tag}"
            try:
                os.mkdir(parent)
            except FileExistsError:
                pass
            except OSError as exc:
                reasons.append(f"v1 {controller} not writable ({exc.strerror})")
                continue
            parents[controller] = parent
        if {"memory", "pids"} <= parents.keys():
            return cls(1, parents)
        for parent in parents.values():
            _remove(parent)
        return cls(reason="; ".join(reasons) or "no cgroup hierarchy mounted")

    def describe(self) -> str:
        if self.version == 0:
            return "none"
        limits = ["memory", "pids"] + (
            ["cpu"] if self.version == 2 or "cpu" in self.parents else []
        )
        return f"v{self.version}: " + ", ".join(limits)

    def create(self, name: str, memory_mb: int, max_processes: int) -> list[str]:
        """The execution's groups, with its limits; returns their directories.

        One set of groups per worker, reused: executions on a worker run one at a time
        and every group is emptied (``kill``) before the next one starts, and making and
        removing memory groups per execution costs more than the rest of an execution.
        """
        if self.version == 0:
            return []
        if self._groups is None:
            self._groups = self._make("exec")
        groups = self._groups
        memory = str(memory_mb * 1024 * 1024)
        for group in groups:
            if self.version == 2:
                _write(f"{group}/memory.max", memory)
                _write(f"{group}/pids.max", str(max_processes))
            elif group.startswith(self.parents.get("memory", "\0")):
                if os.path.exists(f"{group}/memory.memsw.limit_in_bytes"):
                    _write(f"{group}/memory.memsw.limit_in_bytes", "-1")  # memsw >= memory
                _write(f"{group}/memory.limit_in_bytes", memory)
                if os.path.exists(f"{group}/memory.memsw.limit_in_bytes"):
                    _write(f"{group}/memory.memsw.limit_in_bytes", memory)
            elif group.startswith(self.parents.get("pids", "\0")):
                _write(f"{group}/pids.max", str(max_processes))
        self._oom_before = self._oom_kills(groups)
        return groups

    def _make(self, name: str) -> list[str]:
        made: list[str] = []
        try:
            if self.version == 2:
                group = f"{self.parents['']}/{name}"
                os.mkdir(group)
                made.append(group)
                if os.path.exists(f"{group}/memory.swap.max"):
                    _write(f"{group}/memory.swap.max", "0")
                if os.path.exists(f"{group}/cpu.max"):
                    _write(f"{group}/cpu.max", f"{CPU_PERIOD_US} {CPU_PERIOD_US}")
                return made
            for controller, parent in self.parents.items():
                group = f"{parent}/{name}"
                os.mkdir(group)
                made.append(group)
                if controller == "cpu":
                    _write(f"{group}/cpu.cfs_period_us", str(CPU_PERIOD_US))
                    _write(f"{group}/cpu.cfs_quota_us", str(CPU_PERIOD_US))  # one core at most
        except OSError:
            for group in reversed(made):
                _remove(group)
            raise
        return made

    @staticmethod
    def join(groups: list[str]) -> None:
        """Move the calling process into every group (before it drops its privileges)."""
        for group in groups:
            _write(f"{group}/cgroup.procs", "0")

    @staticmethod
    def members(groups: list[str]) -> set[int]:
        found: set[int] = set()
        for group in groups:
            try:
                found.update(int(p) for p in _read(f"{group}/cgroup.procs").split())
            except (OSError, ValueError):
                pass
        return found

    def kill(self, groups: list[str]) -> None:
        """SIGKILL everything in the groups, until they are empty (new forks included)."""
        if self.version == 2 and groups:
            try:
                _write(f"{groups[0]}/cgroup.kill", "1")
            except OSError:
                pass
        for _ in range(1000):
            members = self.members(groups)
            if not members:
                return
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.001)

    @staticmethod
    def _oom_kills(groups: list[str]) -> int:
        count = 0
        for group in groups:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    for line in _read(f"{group}/{name}").splitlines():
                        field_name, _, value = line.partition(" ")
                        if field_name == "oom_kill":
                            count += int(value)
                except (OSError, ValueError):
                    pass
        return count

    def out_of_memory(self, groups: list[str]) -> bool:
        """True when the kernel's OOM killer acted in the group during this execution."""
        return bool(groups) and self._oom_kills(groups) > self._oom_before

    def close(self) -> None:
        for group in reversed(self._groups or []):
            _remove(group)
        for parent in self.parents.values():
            _remove(parent)


def _remove(group: str) -> None:
    for _ in range(50):
        try:
            os.rmdir(group)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.002)  # the last killed process is still leaving the group
