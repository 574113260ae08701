"""The judge options every Cogumi task accepts, turned into scorers in one place.

A task factory adds ``*judge_scorers(name, judge=..., baseline=..., ...)`` to its
scorers, so ``-T judge=pairwise -T baseline=openai/gpt-4-turbo`` works the
same for every task.
"""

from __future__ import annotations

from inspect_ai.scorer import Scorer

from .._task_descriptor import BUILTIN_TASKS, TaskDescriptor
from ._baseline import task_key
from ._baseline_sources import open_baselines
from ._errors import BaselineMissingError, JudgeDefinitionError
from ._scorer import DEFAULT_BASELINE, pairwise

JUDGE_KINDS = ("pairwise",)


def task_judge(task_name: str, descriptor: TaskDescriptor | None = None) -> tuple[str, str | None]:
    """The judge definition and reference a task is judged with by default.

    From its descriptor; else, for a log written before descriptors, Cogumi's own
    task of that name; else the generic ``pairwise`` judge with the target as reference.
    """
    found = descriptor or BUILTIN_TASKS.get(task_key(task_name))
    if found is None:
        return "pairwise", "target"
    return found.judge_template, found.judge_reference


def judge_scorers(
    task_name: str,
    judge: str | None = None,
    baseline: str | None = None,
    *,
    judge_template: str | None = None,
    judge_repeats: int = 1,
    judge_swap: bool = True,
    judge_reference: str | None = "default",
    allow_missing: bool = False,
    budget_usd: float | None = None,
    baselines: str | None = None,
    baseline_config: str | None = None,
    descriptor: TaskDescriptor | None = None,
) -> list[Scorer]:
    """Scorers for a task's judge options (an empty list when ``judge`` is not set).

    Args:
        task_name: the task's name, under which its baselines are stored ("cogumi/" is dropped).
        judge: "pairwise" to judge against stored baseline answers; None for no judge.
        baseline: the model whose stored answers are the baseline (default openai/gpt-4-turbo).
        judge_template: judge definition (default: the task descriptor's).
        judge_repeats: grader calls per order, to measure the judge's own noise.
        judge_swap: judge both orders (MT-Bench rule) or one.
        judge_reference: reference shown to the judge ("target", "metadata:<key>", None);
            "default" picks the task descriptor's.
        allow_missing: score samples without a baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls pass this many dollars.
        baselines: baseline store folder, ``.jsonl`` file or eval log.
        baseline_config: ``config_sha256`` prefix when several generation configs are stored.
        descriptor: the task's descriptor (default: Cogumi's own task of that name).
    """
    name = task_key(task_name)
    if judge in (None, "", "none"):
        if baseline:
            raise JudgeDefinitionError(
                f"baseline={baseline} was given without a judge: add -T judge=pairwise"
            )
        return []
    if judge not in JUDGE_KINDS:
        raise JudgeDefinitionError(
            f"judge={judge!r} is not a judge kind; use one of: {', '.join(JUDGE_KINDS)}"
        )
    template, task_reference = task_judge(name, descriptor)
    model = baseline or DEFAULT_BASELINE
    store = open_baselines(baselines)
    if not allow_missing and not store.records(name, model):
        where = store.describe() if store.root is None else str(store.file_for(name, model))
        raise BaselineMissingError(
            f"no baseline answers for {name} from {model} in {where}: run "
            f"`cogumi baseline build <task file> --model {model}` with the same -T options first "
            "(or pass -T allow_missing=true to score every sample 'error')"
        )
    return [
        pairwise(
            task_name=name,
            baseline=model,
            template=judge_template or template,
            swap=judge_swap,
            repeats=judge_repeats,
            reference=task_reference if judge_reference == "default" else judge_reference,
            allow_missing=allow_missing,
            budget_usd=budget_usd,
            baselines=baselines,
            baseline_config=baseline_config,
        )
    ]
