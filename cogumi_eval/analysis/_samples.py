"""The per-sample frame: one row per run, sample and epoch, with Cogumi's columns."""

from __future__ import annotations

import pandas as pd

from .._task_descriptor import TaskDescriptor
from ..metrics import NO_ANSWER, is_consistent, pairwise_agreement
from ._columns import BASE_COLUMNS
from ._errors import AnalysisError
from ._logs import Logs, LogSet, load

SAMPLE_FRAME_COLUMNS = [
    "run",
    "model",
    "task",
    "id",
    "epoch",
    "subject",
    "target",
    "answer",
    "correct",
    "verdict",
    "consistent",
    "agreement",
    "scorer",
    "error",
    "eval_id",
    "log",
]


def samples(logs: Logs) -> pd.DataFrame:
    """Every sample of every run, one row per epoch.

    Columns: ``run`` (label), ``model``, ``task``, ``id``, ``epoch``, ``subject``
    (MMLU), ``target``, ``answer`` (the normalised extracted answer), ``correct``
    (True/False, NA without a correctness score), ``verdict`` (win/tie/loss/error
    from the pairwise judge, else None), ``consistent`` (the sample's epochs all
    gave the same answer) and ``agreement`` (share of its epoch pairs giving the
    same answer) — both NA with one epoch, as defined in ``cogumi_eval.metrics`` —
    ``scorer``, ``error``, ``eval_id``, ``log``; then one column per sample
    metadata key a run's task descriptor names in ``columns``.

    Args:
        logs: log files, folders, ``EvalLog`` objects, or a ``LogSet`` from ``analysis.load``.
    """
    return load(logs).samples.copy()


def samples_frame(logset: LogSet) -> pd.DataFrame:
    parts = []
    for run in logset.runs:
        rows = run.rows
        if rows.empty:
            continue
        part = pd.DataFrame(
            {
                "run": run.label,
                "model": run.model,
                "task": run.task,
                "id": rows["id"].astype(str).to_numpy(dtype=object),
                "epoch": rows["epoch"].astype("int64").to_numpy(),
                **{
                    name: _objects(rows[name])
                    for name in ("subject", "target", "answer", "verdict", "scorer", "error")
                },
                "correct": rows["correct"].astype("boolean").to_numpy(),
                "eval_id": run.header.eval.eval_id,
                "log": run.location,
                **{name: _objects(rows[name]) for name in _extra_columns(run.descriptor)},
            }
        )
        # without a correctness score there are no answers to agree on
        if part["scorer"].notna().any():
            consistent, agreement = agreement_per_sample(part)
        else:
            consistent, agreement = pd.Series(pd.NA, index=part.index), float("nan")
        part["consistent"] = pd.array(consistent, dtype="boolean")
        part["agreement"] = agreement
        parts.append(part)
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in SAMPLE_FRAME_COLUMNS})
    frame = pd.concat(parts, ignore_index=True)
    frame["correct"] = frame["correct"].astype("boolean")
    extra = [c for c in frame.columns if c not in SAMPLE_FRAME_COLUMNS]
    return frame[SAMPLE_FRAME_COLUMNS + extra]


def _extra_columns(descriptor: TaskDescriptor | None) -> list[str]:
    return [c for c in (descriptor.columns if descriptor else ()) if c not in BASE_COLUMNS]


def agreement_per_sample(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """For each row, whether its sample's epochs all agree and the share of epoch pairs that do.

    A missing answer is an answer of its own (``cogumi_eval.metrics`` does the same).
    NA where a sample has one epoch.
    """
    answers = frame["answer"].fillna(NO_ANSWER)
    keys = [frame["run"], frame["id"]]
    grouped = answers.groupby(keys, sort=False)
    epochs = grouped.transform("size")
    consistent = grouped.transform(lambda a: is_consistent(list(a))).astype(bool)
    agreement = grouped.transform(lambda a: pairwise_agreement(list(a))).astype(float)
    several = epochs > 1
    return consistent.where(several, pd.NA), agreement.where(several)


def _objects(column: pd.Series) -> object:
    """Plain Python values (None for missing): the frame compares and prints like ordinary data."""
    return column.astype(object).where(column.notna(), None).to_numpy(dtype=object)


def sample_frame(data: Logs | pd.DataFrame) -> pd.DataFrame:
    """A per-sample frame: ``data`` itself when it already is one, else read from logs."""
    if isinstance(data, pd.DataFrame):
        missing = {"run", "id", "epoch", "answer", "correct", "verdict"} - set(data.columns)
        if missing:
            raise AnalysisError(
                f"this frame lacks {sorted(missing)}: pass logs or a frame from analysis.samples()"
            )
        return data
    return load(data).samples
