"""Weight files of a checkpoint: header checks and a content hash that is cheap to repeat.

The hash is the sha256 of every weight file's bytes (``*.safetensors``,
``*.bin``, ``*.pt``), combined over the sorted file names: any changed weight,
however small, changes it. Hashing runs at about 1 s per GB on one core (a
7B bf16 checkpoint: ~15 s, files hashed in parallel), so each file's digest is
cached under ``$COGUMI_CACHE_DIR/weights-sha256.json`` keyed by its real path,
size and modification time: the second evaluation of the same checkpoint
hashes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._cache_dir import cache_dir
from .._digest import sha256_file
from ._errors import CorruptWeightsError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
HASH_SCHEME = "sha256 of each weight file, combined over sorted names (cogumi weights-v1)"

_MAX_HEADER_BYTES = 100 * 1024 * 1024
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class WeightsDigest:
    """The content hash of a folder's weight files."""

    sha256: str
    files: int
    bytes: int
    scheme: str = HASH_SCHEME


def weight_files(folder: Path) -> list[Path]:
    """Weight files directly in ``folder`` (training checkpoints and optimizer states excluded)."""
    skip = ("optimizer", "scheduler", "rng_state", "training_args", "scaler")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES) and not p.name.startswith(skip)
    )


def safetensors_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, checked against the file's size.

    Raises:
        CorruptWeightsError: the header is unreadable or the tensors it
            describes do not fill the file exactly (a truncated download).
    """
    size = path.stat().st_size
    fix = "Re-download or re-save the checkpoint (model.save_pretrained(folder))."
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise CorruptWeightsError(
                f"{path} is not a safetensors file: it holds {size} bytes. {fix}"
            )
        (length,) = struct.unpack("<Q", prefix)
        if length > min(_MAX_HEADER_BYTES, size - 8):
            raise CorruptWeightsError(
                f"{path} is corrupted: its header claims {length} bytes "
                f"but the file holds {size}. {fix}"
            )
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as ex:
        raise CorruptWeightsError(
            f"{path} is corrupted: its header is not valid JSON ({ex}). {fix}"
        ) from ex
    if not isinstance(header, dict):
        raise CorruptWeightsError(f"{path} is corrupted: its header is not a JSON object. {fix}")
    ends = [
        int(entry["data_offsets"][1])
        for name, entry in header.items()
        if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry
    ]
    expected = 8 + length + max(ends, default=0)
    if expected != size:
        raise CorruptWeightsError(
            f"{path} is corrupted: its tensors need {expected} bytes but the file holds {size} "
            f"(truncated or padded). {fix}"
        )
    return header


def check_weight_files(folder: Path) -> None:
    """Check every safetensors file in ``folder`` (cheap: headers only)."""
    for path in weight_files(folder):
        if path.suffix == ".safetensors":
            safetensors_header(path)


def _cache_file() -> Path:
    return cache_dir() / "weights-sha256.json"


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


def weights_digest(folder: Path) -> WeightsDigest | None:
    """The content hash of ``folder``'s weight files, or None when it has none.

    Args:
        folder: a checkpoint or adapter folder.
    """
    files = weight_files(folder)
    if not files:
        return None
    cache_path = _cache_file()
    with _cache_lock:
        cache = _read_cache(cache_path)
    keys = {p: str(p.resolve()) for p in files}
    stats = {p: p.stat() for p in files}

    def cached(p: Path) -> str | None:
        entry = cache.get(keys[p])
        st = stats[p]
        if (
            isinstance(entry, dict)
            and entry.get("size") == st.st_size
            and entry.get("mtime_ns") == st.st_mtime_ns
        ):
            return str(entry["sha256"])
        return None

    digests = {p: cached(p) for p in files}
    missing = [p for p, d in digests.items() if d is None]
    if missing:
        # hashlib releases the GIL, so shards of a large checkpoint hash in parallel
        with ThreadPoolExecutor(max_workers=min(4, len(missing), os.cpu_count() or 1)) as pool:
            for p, digest in zip(missing, pool.map(sha256_file, missing), strict=False):
                digests[p] = digest
        with _cache_lock:
            cache = _read_cache(cache_path)
            for p in missing:
                cache[keys[p]] = {
                    "size": stats[p].st_size,
                    "mtime_ns": stats[p].st_mtime_ns,
                    "sha256": digests[p],
                }
            try:
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(cache, indent=0, sort_keys=True))
                tmp.replace(cache_path)
            except OSError:
                pass  # an unwritable cache only costs a re-hash next time
    combined = hashlib.sha256()
    for p in files:
        combined.update(f"{p.name}\t{stats[p].st_size}\t{digests[p]}\n".encode())
    return WeightsDigest(
        sha256=combined.hexdigest(), files=len(files), bytes=sum(s.st_size for s in stats.values())
    )
