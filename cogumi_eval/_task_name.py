"""The task name logs are paired by: registry and file names agree once "cogumi/" is dropped."""

REGISTRY_PREFIX = "cogumi/"


def task_name(raw: str) -> str:
    """``"cogumi/gsm8k"`` (run through the registry) and ``"gsm8k"`` (a task file) are one task."""
    return raw.removeprefix(REGISTRY_PREFIX)
