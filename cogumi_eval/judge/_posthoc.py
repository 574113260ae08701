"""Judge an existing eval log without regenerating anything: ``cogumi judge <log> --baseline ...``.

Runs the ``pairwise`` scorer over the logged samples with Inspect's ``score()``
and writes a new log (the input is never modified unless it is also the output).
Every sample's baseline answer is checked before the first grader call, so a
missing or stale baseline fails fast and costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai import score as inspect_score
from inspect_ai.log import EvalLog, write_eval_log
from inspect_ai.model import Model

from .._log_problem import read_log
from .._task_descriptor import log_descriptor
from ..metrics import VerdictRates, verdict_rates
from ._baseline import input_sha256, task_key
from ._baseline_sources import open_baselines
from ._errors import BaselineError, BaselineMissingError, BaselineStaleError
from ._scorer import DEFAULT_BASELINE, pairwise
from ._task import task_judge

SCORE_NAME = "pairwise"


@dataclass
class JudgeLogResult:
    """A judged log and its headline figures."""

    log: EvalLog
    output: str
    rates: VerdictRates
    missing_baseline: int
    stats: dict[str, float] = field(default_factory=dict)


def _drop_score(log: EvalLog, name: str) -> None:
    """Remove an earlier ``name`` score so re-judging replaces it instead of adding ``name1``."""
    for sample in log.samples or []:
        if sample.scores:
            sample.scores.pop(name, None)
    if log.results:
        log.results.scores = [s for s in log.results.scores if s.scorer != name]
    if log.reductions:
        log.reductions = [r for r in log.reductions if r.scorer != name]
    if log.eval.scorers:
        log.eval.scorers = [s for s in log.eval.scorers if s.name.split("/")[-1] != name]


def _baseline_model(source: str | Path | None, task: str, baseline: str | None) -> str:
    store = open_baselines(source)
    models = store.models(task)
    if baseline:
        return baseline
    if source is not None and Path(source).is_file() and len(models) == 1:
        return models[0]
    if len(models) == 1:
        return models[0]
    if not models:
        return DEFAULT_BASELINE
    raise BaselineError(
        f"{store.describe()} holds {task} answers from several models ({', '.join(models)}); "
        "pick one with --baseline-model"
    )


def judge_log(
    log: str | Path | EvalLog,
    baselines: str | Path | None = None,
    *,
    baseline: str | None = None,
    grader: str | Model | None = None,
    template: str | None = None,
    repeats: int = 1,
    swap: bool = True,
    reference: str | None = "default",
    allow_missing: bool = False,
    budget_usd: float | None = None,
    output: str | Path | None = None,
    display: str | None = "none",
) -> JudgeLogResult:
    """Add (or replace) the ``pairwise`` score of a log and write the judged log.

    Args:
        log: the candidate's eval log.
        baselines: a baseline store folder, a ``.jsonl`` file or the baseline model's eval log.
        baseline: the baseline model in the store (default: the only one stored for the task).
        grader: the grader (default: the log's ``grader`` role, else openai/gpt-4-turbo).
        template: judge definition (default: the task's own).
        repeats: grader calls per order.
        swap: judge both orders.
        reference: reference shown to the judge; "default" picks the task's own.
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        output: where to write the judged log (default ``<log>-judged.eval`` beside it).
        display: Inspect's progress display while the grader runs ("none" by default here;
            ``cogumi judge`` shows Inspect's own unless ``--display none``); None: Inspect's.
    """
    source_path = None if isinstance(log, EvalLog) else str(log)
    the_log = log if isinstance(log, EvalLog) else read_log(log)
    task = task_key(the_log.eval.task)
    model = _baseline_model(baselines, task, baseline)
    store = open_baselines(baselines)

    problems: list[str] = []
    for sample in the_log.samples or []:
        try:
            store.lookup(task, sample.id, model, input_sha256(sample.messages))
        except (BaselineMissingError, BaselineStaleError) as ex:
            problems.append(str(ex))
    if problems and not allow_missing:
        raise BaselineMissingError(
            f"{len(problems)} of {len(the_log.samples or [])} samples have no usable baseline "
            f"answer; nothing was judged. First: {problems[0]}"
        )

    default_template, task_reference = task_judge(task, log_descriptor(the_log))
    scorer = pairwise(
        task_name=task,
        baseline=model,
        template=template or default_template,
        swap=swap,
        repeats=repeats,
        reference=task_reference if reference == "default" else reference,
        allow_missing=allow_missing,
        budget_usd=budget_usd,
        baselines=str(baselines) if baselines is not None else None,
        grader=None if grader is None or isinstance(grader, Model) else grader,
    )
    # without an explicit grader: the log's own grader role, else the scorer's default
    roles: dict[str, Any] | None = {"grader": grader} if isinstance(grader, Model) else None
    _drop_score(the_log, SCORE_NAME)
    judged = inspect_score(
        the_log,
        [scorer],
        model="none",
        model_roles=roles,
        action="append",
        display=display,  # type: ignore[arg-type]
    )
    if output is None:
        if source_path is None:
            raise BaselineError("judge_log of an in-memory log needs output=<path>")
        stem = Path(source_path)
        output = stem.with_name(f"{stem.stem}-judged{stem.suffix or '.eval'}")
    write_eval_log(judged, str(output))
    scores = [
        s.scores[SCORE_NAME] for s in judged.samples or [] if s.scores and SCORE_NAME in s.scores
    ]
    stats: dict[str, float] = {}
    for result in judged.results.scores if judged.results else []:
        if result.scorer == SCORE_NAME and result.name == SCORE_NAME:
            stats = {k: m.value for k, m in result.metrics.items()}
    return JudgeLogResult(judged, str(output), verdict_rates(scores), len(problems), stats)
