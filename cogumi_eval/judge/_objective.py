"""Objective pairwise for verifiable tasks: win / tie / loss from two logs' correctness, no grader.

Candidate correct and baseline wrong is a win, the reverse a loss, the same
correctness a tie. Samples pair by task (a leading "cogumi/" dropped), sample
id and epoch; samples present in only one log are counted, never guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai.log import EvalLog

from .._log_problem import read_log
from .._task_descriptor import BUILTIN_TASKS, log_descriptor
from ..metrics import VerdictRates, verdict_rates
from ._baseline import task_key
from ._errors import BaselineError
from ._verdict import Outcome

CORRECTNESS_SCORERS = tuple(d.scorer for d in BUILTIN_TASKS.values())
"""Cogumi's own correctness scorers, looked for in a log whose task has no descriptor."""


@dataclass(frozen=True)
class PairedOutcome:
    sample_id: str
    epoch: int
    candidate_correct: bool
    baseline_correct: bool
    outcome: Outcome


@dataclass
class ObjectivePairwise:
    """Paired outcomes of two runs of one task, and what could not be paired."""

    task: str
    scorer: str
    candidate: str
    baseline: str
    outcomes: list[PairedOutcome]
    candidate_only: list[tuple[str, int]] = field(default_factory=list)
    baseline_only: list[tuple[str, int]] = field(default_factory=list)
    unscored: int = 0

    @property
    def rates(self) -> VerdictRates:
        return verdict_rates([o.outcome for o in self.outcomes])

    def to_dict(self) -> dict[str, Any]:
        rates = self.rates
        return {
            "task": self.task,
            "scorer": self.scorer,
            "candidate": self.candidate,
            "baseline": self.baseline,
            "paired": rates.n,
            "rates": rates.rates,
            "stderr": rates.stderr,
            "candidate_only": len(self.candidate_only),
            "baseline_only": len(self.baseline_only),
            "unscored": self.unscored,
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def _read(log: str | Path | EvalLog) -> EvalLog:
    return log if isinstance(log, EvalLog) else read_log(log)


def _correctness(log: EvalLog, scorer: str) -> tuple[dict[tuple[str, int], bool], int]:
    found: dict[tuple[str, int], bool] = {}
    unscored = 0
    for sample in log.samples or []:
        score = (sample.scores or {}).get(scorer)
        if score is None or sample.error:
            unscored += 1
            continue
        value = score.value
        if value in ("C", "I"):
            found[(str(sample.id), sample.epoch)] = value == "C"
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[(str(sample.id), sample.epoch)] = float(value) >= 1.0
        else:
            unscored += 1
    return found, unscored


def _pick_scorer(log: EvalLog, scorer: str | None) -> str:
    names = {name for s in log.samples or [] for name in (s.scores or {})}
    descriptor = log_descriptor(log)
    scorer = scorer or (descriptor.scorer if descriptor else None)
    if scorer:
        if scorer not in names:
            raise BaselineError(
                f"{log.location}: no {scorer!r} scores (has {', '.join(sorted(names)) or 'none'})"
            )
        return scorer
    for name in CORRECTNESS_SCORERS:
        if name in names:
            return name
    raise BaselineError(
        f"{log.location}: no correctness score ({', '.join(CORRECTNESS_SCORERS)}); "
        "pass scorer=<name> for a task with another C/I scorer"
    )


def objective_pairwise(
    candidate: str | Path | EvalLog, baseline: str | Path | EvalLog, scorer: str | None = None
) -> ObjectivePairwise:
    """Pair two logs of the same task and compare correctness sample by sample.

    Args:
        candidate: the candidate's eval log.
        baseline: the baseline's eval log.
        scorer: the correctness score to compare (default: the one the task's descriptor
            names, e.g. ``final_number``).
    """
    cand, base = _read(candidate), _read(baseline)
    if task_key(cand.eval.task) != task_key(base.eval.task):
        raise BaselineError(
            f"the logs are of different tasks ({cand.eval.task} vs {base.eval.task}); "
            "objective pairwise compares two runs of the same task"
        )
    name = _pick_scorer(cand, scorer)
    _pick_scorer(base, name)
    cand_correct, cand_unscored = _correctness(cand, name)
    base_correct, base_unscored = _correctness(base, name)
    outcomes = []
    for key in sorted(set(cand_correct) & set(base_correct)):
        c, b = cand_correct[key], base_correct[key]
        outcome: Outcome = "tie" if c == b else ("win" if c else "loss")
        outcomes.append(PairedOutcome(key[0], key[1], c, b, outcome))
    if not outcomes:
        raise BaselineError(
            f"no sample of {cand.location} pairs with {base.location} by (sample id, epoch)"
        )
    return ObjectivePairwise(
        task=task_key(cand.eval.task),
        scorer=name,
        candidate=cand.location,
        baseline=base.location,
        outcomes=outcomes,
        candidate_only=sorted(set(cand_correct) - set(base_correct)),
        baseline_only=sorted(set(base_correct) - set(cand_correct)),
        unscored=cand_unscored + base_unscored,
    )


def write_objective_log(result: ObjectivePairwise, output: str | Path) -> str:
    """The candidate's log with a ``pairwise`` score per sample from ``result``, at ``output``.

    The scores have the pairwise judge's shape (value from ``verdict_value``,
    answer win / tie / loss, the same metrics), so ``cogumi gate`` rules on
    ``win+tie`` or ``tie_rate``, ``cogumi promote`` and ``analysis`` read an
    objectively judged log exactly like a grader-judged one. A sample that did
    not pair is scored ``error`` with the reason, never a tie.
    """
    from inspect_ai.log import write_eval_log
    from inspect_ai.scorer import Score, Scorer, Target, scorer
    from inspect_ai.solver import TaskState

    from ..metrics import preference_rate, verdict_rate_metrics
    from ._posthoc import SCORE_NAME, _drop_score
    from ._verdict import verdict_value

    by_key = {(o.sample_id, o.epoch): o for o in result.outcomes}
    log = read_log(result.candidate)

    @scorer(metrics=[verdict_rate_metrics(), preference_rate()], name=SCORE_NAME)
    def objective() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            paired = by_key.get((str(state.sample_id), state.epoch))
            if paired is None:
                return Score(
                    value=verdict_value("error", False),
                    answer="error",
                    explanation=f"no scored sample {state.sample_id} epoch {state.epoch} "
                    f"in the baseline {result.baseline}",
                    metadata={"objective": True, "baseline_log": result.baseline},
                )
            return Score(
                value=verdict_value(paired.outcome, False),
                answer=paired.outcome,
                explanation=f"by {result.scorer}: candidate "
                f"{'right' if paired.candidate_correct else 'wrong'}, baseline "
                f"{'right' if paired.baseline_correct else 'wrong'}",
                metadata={
                    "objective": True,
                    "baseline_log": result.baseline,
                    "scorer": result.scorer,
                },
            )

        return score

    from inspect_ai import score as inspect_score

    _drop_score(log, SCORE_NAME)
    judged = inspect_score(log, [objective()], model="none", action="append", display="none")
    write_eval_log(judged, str(output))
    return str(output)
