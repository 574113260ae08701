"""pass@k across epochs: the unbiased estimator of Chen et al. (2021), as Inspect reducers.

For a problem sampled n times with c correct samples, the probability that at
least one of k samples drawn without replacement is correct is

    pass@k = 1 - C(n - c, k) / C(n, k)

and its mean over problems estimates the benchmark's pass@k without the bias of
``1 - (1 - c/n)^k``. Inspect's own ``pass_at(k)`` reducer (inspect_ai 0.3.285,
``scorer/_reducer/reducer.py``) computes exactly this, in the paper's stable
product form ``1 - prod(1 - k / arange(n - c + 1, n + 1))``, returns 1.0 when
``n - c < k`` and NaN when fewer than k epochs were scored; so Cogumi uses it as
is and only adds the choice of k values and the plain function below (used by
tests and by anything that counts passes outside Inspect).

Used as epoch reducers, one ``pass_at(k)`` per k gives one result block per k,
each showing ``accuracy`` under the scorer's name: ``-T k=1,10`` printed two
identical "humaneval_tests / accuracy" columns. ``pass_at_k_metric`` applies the
same reducer to each sample's epochs and reports ``pass@1``, ``pass@10`` by name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Scorer,
    ScoreReducer,
    Value,
    metric,
    pass_at,
)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with ``c`` of ``n`` samples correct.

    Args:
        n: samples drawn (epochs).
        c: samples that passed.
        k: the k of pass@k (1 <= k <= n).
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass@{k} needs at least k={k} samples per problem, got n={n}")
    if n - c < k:
        return 1.0
    product = 1.0
    for i in range(n - c + 1, n + 1):  # C(n-c, k) / C(n, k) as a product: no huge binomials
        product *= 1.0 - k / i
    return 1.0 - product


def parse_k(k: int | str | Sequence[int | str]) -> list[int]:
    """The k values of ``-T k=1,10`` (Inspect passes "1,10" as ["1", "10"]), sorted, unique."""
    items: Iterable[int | str]
    if isinstance(k, int):
        items = [k]
    elif isinstance(k, str):
        items = [part for part in k.replace(" ", "").split(",") if part]
    else:
        items = k
    values = set()
    for item in items:
        try:
            value = int(item)
        except (TypeError, ValueError):
            raise ValueError(f"k must be whole numbers like 1,10; got {item!r}") from None
        if value < 1:
            raise ValueError(f"k must be >= 1; got {value}")
        values.add(value)
    if not values:
        raise ValueError("k is empty; pass e.g. -T k=1,10")
    return sorted(values)


def pass_at_k_label(k: int) -> str:
    """How pass@k is named in logs and displays: ``pass@10``."""
    return f"pass@{k}"


@metric(scores="unreduced")
def pass_at_k_metric(k: Sequence[int]) -> Metric:
    """pass@k for each k from each sample's epochs (Inspect's ``pass_at(k)``), named ``pass@<k>``.

    Args:
        k: the k values (each at most the epochs per sample; a sample with fewer
            epochs makes that pass@k NaN, as Inspect's reducer does).
    """
    reducers = {value: pass_at(value) for value in k}

    def compute(scores: list[SampleScore]) -> Value:
        by_sample: dict[str | int | None, list[SampleScore]] = {}
        for score in scores:
            by_sample.setdefault(score.sample_id, []).append(score)
        result: dict[str, float] = {}
        for value, reducer in reducers.items():
            per_sample = [
                float(reducer([s.score for s in group]).as_float()) for group in by_sample.values()
            ]
            result[pass_at_k_label(value)] = (
                math.fsum(per_sample) / len(per_sample) if per_sample else float("nan")
            )
        return result  # type: ignore[return-value]

    return compute


def with_pass_at_k(scorer: Scorer, ks: Sequence[int]) -> Scorer:
    """``scorer`` also reporting ``pass@<k>`` for each of ``ks`` (added to its declared metrics).

    The metrics Inspect computes for a scorer are the ones its ``@scorer``
    declaration recorded on the instance; the k values are a task option, so
    they are added to this instance only.
    """
    from inspect_ai._util.registry import registry_info
    from inspect_ai.scorer._scorer import SCORER_METRICS

    info = registry_info(scorer)
    declared = info.metadata.get(SCORER_METRICS) or []
    info.metadata[SCORER_METRICS] = [*declared, pass_at_k_metric(list(ks))]
    return scorer


def pass_at_k_reducers(ks: Sequence[int], epochs: int | None = None) -> list[ScoreReducer]:
    """Inspect ``pass_at(k)`` reducers, one per k (logged as ``pass_at_<k>``).

    Args:
        ks: the k values.
        epochs: samples per problem when known; every k must be <= epochs.
    """
    check_k(ks, epochs)
    return [pass_at(k) for k in ks]


def check_k(ks: Sequence[int], epochs: int | None) -> None:
    """Refuse a k above the epochs per sample, with the fix."""
    if epochs is not None:
        too_large = [k for k in ks if k > epochs]
        if too_large:
            raise ValueError(
                f"pass@{max(too_large)} needs at least {max(too_large)} epochs "
                f"but epochs={epochs}; "
                f"raise -T epochs (or --epochs) or drop k={','.join(map(str, too_large))}"
            )
