"""Resource limits for one execution of model-written code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Limits applied to the process that runs the code (and to everything it starts).

    Attributes:
        timeout_s: wall-clock seconds before the whole process tree is killed.
        cpu_s: CPU seconds (RLIMIT_CPU); defaults to ``timeout_s`` rounded up.
        memory_mb: address space per process (RLIMIT_AS). Python itself takes ~100 MB.
        file_size_mb: largest file the code may write (RLIMIT_FSIZE); also bounds
            how much stdout/stderr can be written at all.
        max_processes: processes and threads (RLIMIT_NPROC), so a fork bomb stops here.
        output_bytes: how much of stdout and of stderr is kept in the result.
        call_timeout_s: wall-clock seconds one call of the code may take (default:
            ``timeout_s``, which also bounds all calls together).
        answer_bytes: the largest encoded answer one call may send back.
    """

    timeout_s: float = 10.0
    cpu_s: float | None = None
    memory_mb: int = 1024
    file_size_mb: int = 16
    max_processes: int = 64
    output_bytes: int = 8192
    call_timeout_s: float | None = None
    answer_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb={self.memory_mb} is too small to start Python; use >= 64")
        if self.file_size_mb < 1 or self.max_processes < 1 or self.output_bytes < 0:
            raise ValueError("file_size_mb and max_processes must be >= 1, output_bytes >= 0")

    @property
    def cpu_seconds(self) -> int:
        """The RLIMIT_CPU soft limit in whole seconds."""
        return max(1, int(-(-(self.cpu_s or self.timeout_s) // 1)))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["cpu_s"] = self.cpu_seconds
        return data
