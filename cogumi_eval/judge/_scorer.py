"""The pairwise judge scorer: the candidate's answer against a stored baseline answer."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from inspect_ai.model import Model, get_model
from inspect_ai.scorer import Score, Scorer, Target, scorer
from inspect_ai.solver import TaskState

from ..metrics import preference_rate, verdict_rate_metrics
from ._baseline import BaselineRecord, input_sha256, task_key
from ._baseline_sources import open_baselines
from ._cache import VerdictCache
from ._definition import JudgeDefinition, load_judge
from ._errors import BaselineMissingError, BaselineStaleError, JudgeDefinitionError
from ._grader import JudgeCall, JudgeRun
from ._metrics import judge_agreement, judge_stats
from ._verdict import ORDERS, Order, combine_orders, combine_repeats, verdict_value

DEFAULT_GRADER = "openai/gpt-4-turbo"
DEFAULT_BASELINE = "openai/gpt-4-turbo"


def single_order(sample_id: str | int, epoch: int) -> Order:
    """The one order judged when ``swap=False``: fixed per sample, balanced over samples."""
    digest = hashlib.sha256(f"{sample_id}:{epoch}".encode()).digest()
    return ORDERS[digest[0] % 2]


def reference_text(reference: str | None, state: TaskState, target: Target) -> str | None:
    """The reference answer named by ``reference``: "target", "metadata:<key>" or None."""
    if not reference:
        return None
    if reference == "target":
        return target.text or None
    if reference.startswith("metadata:"):
        value = state.metadata.get(reference.removeprefix("metadata:"))
        return str(value) if value else (target.text or None)
    raise JudgeDefinitionError(f"reference={reference!r}: use 'target', 'metadata:<key>' or none")


def _active_task_name() -> str | None:
    """The running task (``inspect score`` runs none: then the scorer must be told)."""
    from inspect_ai.log._samples import sample_active

    active = sample_active()
    return active.task if active is not None else None


@scorer(metrics=[verdict_rate_metrics(), preference_rate(), judge_stats(), judge_agreement()])
def pairwise(
    task_name: str | None = None,
    baseline: str = DEFAULT_BASELINE,
    template: str = "pairwise",
    swap: bool = True,
    repeats: int = 1,
    reference: str | None = "target",
    allow_missing: bool = False,
    budget_usd: float | None = None,
    baselines: str | None = None,
    baseline_config: str | None = None,
    grader: str | None = None,
    probe: bool = True,
    prices: str | None = None,
    cache_path: str | None = None,
    grader_version: str | None = None,
) -> Scorer:
    """Judge the candidate's answer against the stored baseline answer (``grader`` model role).

    The value is a dict of 0/1 floats (win, tie, loss, error, inconsistent) from
    the candidate's point of view and ``answer`` the outcome. With ``swap`` both
    orders are judged and disagreement is a tie counted as inconsistent
    (MT-Bench). An unparseable grader reply is asked once more, then scored
    'error' — never a tie. Verdicts are cached (see ``VerdictCache``); a second
    identical run asks the grader nothing.

    Args:
        task_name: the task whose baselines to use (default: the running task; "cogumi/"
            is dropped).
        baseline: the model whose stored answers are the baseline.
        template: judge definition id under ``judges/`` or a path to a ``.toml``.
        swap: judge both orders (True) or one order fixed per sample (False, half the calls).
        repeats: ask the grader this many times per order (each repeat its own cache entry);
            the log then reports the grader's self-agreement (kappa).
        reference: reference answer shown to the judge: "target", "metadata:<key>", or None.
        allow_missing: score samples without a usable baseline answer 'error' instead of failing.
        budget_usd: stop before new grader calls would pass this many dollars in this run.
        baselines: baseline store folder, a ``.jsonl`` store file or an eval log of the
            baseline model (default ``$COGUMI_BASELINES_DIR`` or ``results/baselines``).
        baseline_config: ``config_sha256`` prefix, when several generation configs are stored.
        grader: grader model name; default the ``grader`` model role, else openai/gpt-4-turbo.
        probe: re-resolve a floating grader alias once per run (see ``cogumi_eval.judge._grader``).
        prices: a TOML price table overriding the shipped one (also ``$COGUMI_PRICES``).
        cache_path: verdict cache file (default ``$COGUMI_CACHE_DIR/verdicts.sqlite3``).
        grader_version: the grader version the run must be judged by (the ``grader_version``
            of the judged log it will be compared with); a grader reporting another is refused.
    """
    if repeats < 1:
        raise JudgeDefinitionError(f"repeats={repeats}: ask the grader at least once per pair")
    definition = load_judge(template)
    store = open_baselines(baselines)
    run = JudgeRun(
        definition,
        cache=VerdictCache(cache_path) if cache_path else None,
        prices=None,
        budget_usd=budget_usd,
        probe=probe,
        expect_version=grader_version,
    )
    if prices:
        from ._cost import PriceTable

        run._prices = PriceTable.load(prices)

    async def score(state: TaskState, target: Target) -> Score:
        task = task_key(task_name or _active_task_name() or "")
        if not task:
            raise JudgeDefinitionError(
                "pairwise: pass task_name=<task> (e.g. -S task_name=gsm8k), or judge the log with "
                "`cogumi judge <log>`, which reads the task from it: there is no running task"
            )
        model: Model = (
            get_model(grader) if grader else get_model(role="grader", default=DEFAULT_GRADER)
        )
        candidate = state.output.completion if state.output else ""
        input_hash = input_sha256(state.messages)
        try:
            record = store.lookup(task, state.sample_id, baseline, input_hash, baseline_config)
        except (BaselineMissingError, BaselineStaleError) as ex:
            if not allow_missing:
                raise
            kind = "missing" if isinstance(ex, BaselineMissingError) else "stale"
            return Score(
                value=verdict_value("error", False),
                answer="error",
                explanation=str(ex),
                metadata=_common_metadata(definition, model, baseline, None, input_hash)
                | {"baseline_problem": kind, "calls": []},
            )
        question = state.input_text
        ref = reference_text(reference, state, target) if definition.reference != "none" else None
        orders: Sequence[Order] = ORDERS if swap else (single_order(state.sample_id, state.epoch),)
        calls: list[JudgeCall] = await run.judge_orders(
            model, orders, repeats, question, ref, candidate, record.answer
        )
        per_repeat = [
            combine_orders([c.outcome for c in calls if c.repeat == r]) for r in range(repeats)
        ]
        pair = combine_repeats(per_repeat)
        identity = await run.identity(model)
        metadata = (
            _common_metadata(definition, model, baseline, record, input_hash)
            | {
                "grader_version": identity.version,
                "grader_pinned": identity.pinned,
                "swap": swap,
                "repeats": repeats,
                "repeat_outcomes": [r.outcome for r in per_repeat],
                "inconsistent": pair.inconsistent,
                "calls": [c.as_metadata() for c in calls],
                "cache_hits": sum(c.cache == "hit" for c in calls),
                "cache_misses": sum(c.cache == "miss" for c in calls),
            }
            | run.take_probe_report()
        )
        return Score(
            value=verdict_value(pair.outcome, pair.inconsistent),
            answer=pair.outcome,
            explanation=_explain(calls, pair.outcome, pair.inconsistent),
            metadata=metadata,
        )

    return score


def _common_metadata(
    definition: JudgeDefinition,
    model: Model,
    baseline: str,
    record: BaselineRecord | None,
    input_hash: str,
) -> dict[str, Any]:
    return {
        "template": definition.id,
        "template_version": definition.version,
        "template_sha256": definition.fingerprint,
        "grader": str(model),
        "baseline_model": baseline,
        "baseline_model_version": record.model_version if record else None,
        "baseline_config_sha256": record.config_sha256 if record else None,
        "baseline_usd": record.usd if record else None,
        "input_sha256": input_hash,
    }


def _explain(calls: list[JudgeCall], outcome: str, inconsistent: bool) -> str:
    parts = []
    for c in calls:
        verdict = c.verdict or "unparseable"
        source = "cached" if c.cache == "hit" else f"{c.attempts} call(s)"
        parts.append(f"repeat {c.repeat} {c.order}: {verdict} -> {c.outcome} ({source})")
    note = " (orders disagree: counted as a tie and as inconsistent)" if inconsistent else ""
    return "; ".join(parts) + f" => {outcome}{note}"
