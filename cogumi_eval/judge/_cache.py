"""The verdict cache: SQLite in WAL mode, one committed transaction per verdict.

Keys are sha256 digests of everything that can change a verdict (see
``verdict_key``). Each insert commits on its own, so a run that is killed
keeps every verdict it already received; WAL lets several processes read and
write at once (writers queue on SQLite's lock, waiting up to ``busy_timeout``).
``synchronous=NORMAL`` survives a killed process; only a power cut can lose the
last few commits, which a re-run simply asks for again.

The ``grader_aliases`` table remembers which model version each grader name
resolved to, and whether the name is pinned (the API reported the name that
was asked for) or floating (an alias such as ``gpt-4-turbo``); see
``_grader.py`` for how that decides whether a cached verdict may be reused.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from .._cache_dir import cache_dir
from .._errors import CogumiError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    verdict TEXT NOT NULL CHECK (verdict IN ('A', 'B', 'tie')),
    reply TEXT NOT NULL,
    grader TEXT NOT NULL,
    grader_version TEXT NOT NULL,
    template_id TEXT NOT NULL,
    template_version TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    usd REAL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS verdicts_template ON verdicts (template_id, template_version);
CREATE INDEX IF NOT EXISTS verdicts_grader ON verdicts (grader_version);
CREATE INDEX IF NOT EXISTS verdicts_created ON verdicts (created_at);
CREATE TABLE IF NOT EXISTS grader_aliases (
    alias TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    pinned INTEGER NOT NULL,
    checked_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class CacheError(CogumiError):
    """The verdict cache cannot be opened or is from an incompatible version."""


def default_cache_path() -> Path:
    return cache_dir() / "verdicts.sqlite3"


def verdict_key(**parts: Any) -> str:
    """sha256 of the parts as canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedVerdict:
    """One grader reply and the position verdict parsed from it."""

    key: str
    verdict: str
    reply: str
    grader: str
    grader_version: str
    template_id: str
    template_version: str
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float | None = None
    created_at: float = 0.0


@dataclass(frozen=True)
class GraderAlias:
    """What a grader name resolved to when last seen."""

    alias: str
    version: str
    pinned: bool
    checked_at: float


@dataclass(frozen=True)
class CacheGroup:
    grader_version: str
    template: str
    verdicts: int
    oldest: float
    newest: float
    usd: float


@dataclass(frozen=True)
class CacheStats:
    path: str
    size_bytes: int
    verdicts: int
    groups: list[CacheGroup]
    aliases: list[GraderAlias]


_COLUMNS = (
    "key, verdict, reply, grader, grader_version, template_id, template_version, "
    "input_tokens, output_tokens, usd, created_at"
)


class VerdictCache:
    """A verdict cache file; safe to share between threads and processes.

    Args:
        path: the SQLite file (default ``$COGUMI_CACHE_DIR/verdicts.sqlite3``).
        busy_timeout_s: how long a writer waits for another process's write lock.
    """

    def __init__(self, path: str | Path | None = None, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path) if path else default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                self.path,
                timeout=busy_timeout_s,
                isolation_level=None,  # autocommit: every statement is its own transaction
                check_same_thread=False,
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._retry(lambda: self._db.execute("PRAGMA journal_mode = WAL"))
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._retry(lambda: self._db.executescript(_SCHEMA))
            self._retry(
                lambda: self._db.execute(
                    "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            )
            row = self._db.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'"
            ).fetchone()
        except sqlite3.DatabaseError as ex:
            raise CacheError(
                f"verdict cache {self.path} cannot be opened ({ex}); move it aside or point "
                "COGUMI_CACHE_DIR at another folder"
            ) from ex
        if row and int(row[0]) != SCHEMA_VERSION:
            raise CacheError(
                f"verdict cache {self.path} has schema {row[0]}, "
                f"this cogumi reads {SCHEMA_VERSION}; "
                "point COGUMI_CACHE_DIR at another folder"
            )

    @staticmethod
    def _retry(action: Any, attempts: int = 50) -> Any:
        # switching to WAL and creating tables take an exclusive lock that the busy
        # handler does not always wait for when several processes open the file at once
        for attempt in range(attempts):
            try:
                return action()
            except sqlite3.OperationalError as ex:
                if "locked" not in str(ex) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, key: str) -> CachedVerdict | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM verdicts WHERE key = ?", (key,)
            ).fetchone()
        return CachedVerdict(*row) if row else None

    def put(self, verdict: CachedVerdict) -> CachedVerdict:
        """Store a verdict (committed before returning); the first writer of a key wins."""
        with self._lock:
            self._retry(
                lambda: self._db.execute(
                    f"INSERT OR IGNORE INTO verdicts ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        verdict.key,
                        verdict.verdict,
                        verdict.reply,
                        verdict.grader,
                        verdict.grader_version,
                        verdict.template_id,
                        verdict.template_version,
                        verdict.input_tokens,
                        verdict.output_tokens,
                        verdict.usd,
                        verdict.created_at or time.time(),
                    ),
                )
            )
        stored = self.get(verdict.key)
        return stored if stored is not None else verdict

    def alias(self, alias: str) -> GraderAlias | None:
        with self._lock:
            row = self._db.execute(
                "SELECT alias, version, pinned, checked_at FROM grader_aliases WHERE alias = ?",
                (alias,),
            ).fetchone()
        return GraderAlias(row[0], row[1], bool(row[2]), row[3]) if row else None

    def set_alias(self, alias: str, version: str, pinned: bool) -> GraderAlias:
        record = GraderAlias(alias, version, pinned, time.time())
        with self._lock:
            self._retry(
                lambda: self._db.execute(
                    "INSERT OR REPLACE INTO grader_aliases (alias, version, pinned, checked_at) "
                    "VALUES (?, ?, ?, ?)",
                    (record.alias, record.version, int(record.pinned), record.checked_at),
                )
            )
        return record

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0])

    def stats(self) -> CacheStats:
        with self._lock:
            groups = [
                CacheGroup(row[0], f"{row[1]}@{row[2]}", row[3], row[4], row[5], row[6] or 0.0)
                for row in self._db.execute(
                    "SELECT grader_version, template_id, template_version, COUNT(*), "
                    "MIN(created_at), MAX(created_at), SUM(usd) FROM verdicts "
                    "GROUP BY grader_version, template_id, template_version "
                    "ORDER BY grader_version, template_id, template_version"
                )
            ]
            aliases = [
                GraderAlias(row[0], row[1], bool(row[2]), row[3])
                for row in self._db.execute(
                    "SELECT alias, version, pinned, checked_at FROM grader_aliases ORDER BY alias"
                )
            ]
        size = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        return CacheStats(str(self.path), size, sum(g.verdicts for g in groups), groups, aliases)

    def prune(
        self,
        older_than_s: float | None = None,
        template: str | None = None,
        grader: str | None = None,
        dry_run: bool = False,
    ) -> int:
        """Delete verdicts matching every given filter; returns how many (would be) deleted.

        Args:
            older_than_s: only verdicts stored more than this many seconds ago.
            template: a judge id (``pairwise-math``) or id and version (``pairwise-math@1``).
            grader: a grader name as asked for or as reported (alias or resolved version).
        """
        if older_than_s is None and template is None and grader is None:
            raise CacheError("prune needs at least one of: an age, a template, a grader")
        clauses: list[str] = []
        params: list[Any] = []
        if older_than_s is not None:
            clauses.append("created_at < ?")
            params.append(time.time() - older_than_s)
        if template is not None:
            template_id, _, version = template.partition("@")
            clauses.append("template_id = ?")
            params.append(template_id)
            if version:
                clauses.append("template_version = ?")
                params.append(version)
        if grader is not None:
            clauses.append("(grader = ? OR grader_version = ?)")
            params += [grader, grader]
        where = " AND ".join(clauses)
        with self._lock:
            if dry_run:
                return int(
                    self._db.execute(
                        f"SELECT COUNT(*) FROM verdicts WHERE {where}", params
                    ).fetchone()[0]
                )
            cursor = self._retry(
                lambda: self._db.execute(f"DELETE FROM verdicts WHERE {where}", params)
            )
            return int(cursor.rowcount)
