"""Pairwise judging against stored baseline answers, with a verdict cache and cost control.

- ``BaselineStore``: baseline answers keyed by task, sample id, input hash, model, config.
- ``build_baselines`` / ``import_baselines``: fill the store (only what is missing).
- ``pairwise``: the Inspect scorer (grader = model role ``grader``).
- ``judge_scorers``: the task option wiring every Cogumi task factory calls.
- ``judge_log``: judge an existing log post hoc; ``objective_pairwise``: win/tie/loss from
  two logs' correctness, no grader.
- ``VerdictCache``: the SQLite verdict cache; ``PriceTable`` / ``Budget``: cost.
- ``load_judge``: judges as data (``judges/<id>.toml``).
"""

from ._agreement import SelfAgreement, cohen_kappa, fleiss_kappa, self_agreement
from ._baseline import (
    AddResult,
    BaselineRecord,
    BaselineStore,
    config_sha256,
    input_sha256,
    task_key,
)
from ._baseline_build import BuildResult, build_baselines, import_baselines
from ._baseline_sources import open_baselines, records_from_jsonl, records_from_log
from ._cache import CachedVerdict, CacheStats, VerdictCache, cache_dir, default_cache_path
from ._cost import Budget, Price, PriceTable
from ._definition import JudgeDefinition, VerdictGrammar, judges_dir, load_judge, parse_judge
from ._errors import (
    BaselineError,
    BaselineMissingError,
    BaselineStaleError,
    BudgetExceededError,
    JudgeDefinitionError,
    PriceError,
)
from ._grader import GraderIdentity, JudgeCall, JudgeRun
from ._metrics import judge_agreement, judge_stats
from ._objective import ObjectivePairwise, PairedOutcome, objective_pairwise
from ._posthoc import judge_log
from ._scorer import DEFAULT_BASELINE, DEFAULT_GRADER, pairwise
from ._task import JUDGE_KINDS, judge_scorers
from ._verdict import combine_orders, combine_repeats, verdict_value

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_GRADER",
    "JUDGE_KINDS",
    "AddResult",
    "BaselineError",
    "BaselineMissingError",
    "BaselineRecord",
    "BaselineStaleError",
    "BaselineStore",
    "Budget",
    "BudgetExceededError",
    "BuildResult",
    "CacheStats",
    "CachedVerdict",
    "GraderIdentity",
    "JudgeCall",
    "JudgeDefinition",
    "JudgeDefinitionError",
    "JudgeRun",
    "ObjectivePairwise",
    "PairedOutcome",
    "Price",
    "PriceError",
    "PriceTable",
    "SelfAgreement",
    "VerdictCache",
    "VerdictGrammar",
    "build_baselines",
    "cache_dir",
    "cohen_kappa",
    "combine_orders",
    "combine_repeats",
    "config_sha256",
    "default_cache_path",
    "fleiss_kappa",
    "import_baselines",
    "input_sha256",
    "judge_agreement",
    "judge_log",
    "judge_scorers",
    "judge_stats",
    "judges_dir",
    "load_judge",
    "objective_pairwise",
    "open_baselines",
    "pairwise",
    "parse_judge",
    "records_from_jsonl",
    "records_from_log",
    "self_agreement",
    "task_key",
    "verdict_value",
]
