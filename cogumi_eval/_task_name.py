"""The task name logs are paired by: registry and file names agree without the package prefix."""

REGISTRY_PREFIX = "cogumi/"

# Inspect prefixes a task from an installed package with the package's name: "cogumi/gsm8k"
# through the entry point, "cogumi_eval/gsm8k" for a factory called from Python with Cogumi
# installed (not editable).
_PACKAGE_PREFIXES = (REGISTRY_PREFIX, "cogumi_eval/")


def task_name(raw: str) -> str:
    """``"cogumi/gsm8k"``, ``"cogumi_eval/gsm8k"`` (installed) and ``"gsm8k"`` (file): one task."""
    for prefix in _PACKAGE_PREFIXES:
        if raw.startswith(prefix):
            return raw.removeprefix(prefix)
    return raw
