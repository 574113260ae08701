"""Judged GSM8K runs through Inspect's OpenAI-compatible provider against a ``FaultServer``.

The baseline answers are built through the server (``openai-api/local/gpt-base``),
the grader is the server (``openai-api/local/<name>``) and the candidate is a
scripted mockllm; each part's answers are right or wrong by problem index, so
the correct verdict of every pair is known in advance.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval
from inspect_ai.log import EvalLog
from inspect_ai.model import GenerateConfig, Model, get_model

from cogumi_eval.judge import build_baselines
from cogumi_eval.tasks import gsm8k

BASELINE = "openai-api/local/gpt-base"
KEY_VAR = "LOCAL_API_KEY"  # openai-api/local/... reads LOCAL_API_KEY and LOCAL_BASE_URL


def wrong(value: str) -> str:
    return str(int(float(value)) + 1)


@dataclass
class Problems:
    """The first problems of GSM8K test and who answers each right."""

    questions: list[str]
    answers: list[str]
    candidate_right: Callable[[int], bool]
    baseline_right: Callable[[int], bool]

    def baseline_answers(self) -> dict[str, str]:
        return {
            q: a if self.baseline_right(i) else wrong(a)
            for i, (q, a) in enumerate(zip(self.questions, self.answers, strict=True))
        }

    def candidate_answer(self, prompt: str) -> str:
        for i, (q, a) in enumerate(zip(self.questions, self.answers, strict=True)):
            if q in prompt:
                return f"Step by step.\nANSWER: {a if self.candidate_right(i) else wrong(a)}"
        return "ANSWER: 0"

    def expected(self, index: int) -> str:
        c, b = self.candidate_right(index), self.baseline_right(index)
        return "tie" if c == b else ("win" if c else "loss")

    def index_of(self, text: str) -> int | None:
        return next((i for i, q in enumerate(self.questions) if q in text), None)


def problems(
    data_dir: Path,
    n: int,
    candidate_right: Callable[[int], bool] = lambda i: i % 3 != 0,
    baseline_right: Callable[[int], bool] = lambda i: i % 2 == 0,
) -> Problems:
    from cogumi_eval.data import load_gsm8k
    from cogumi_eval.tasks._numeric import normalise_number

    records = load_gsm8k("test", data_dir=str(data_dir)).records[:n]
    return Problems(
        [r.question for r in records],
        [normalise_number(r.answer) or r.answer for r in records],
        candidate_right,
        baseline_right,
    )


def served_model(
    name: str,
    url: str,
    *,
    max_retries: int = 3,
    client_timeout: float = 1.0,
    max_connections: int = 8,
) -> Model:
    """A model behind the server through Inspect's OpenAI-compatible provider.

    Retries are Inspect's alone: the OpenAI SDK's own retry loop is off
    (``max_retries=0`` as a model argument), Inspect's is bounded by
    ``GenerateConfig.max_retries``; ``client_timeout`` bounds each HTTP attempt.
    The API key comes from ``LOCAL_API_KEY`` as for any user.
    """
    return get_model(
        name,
        base_url=url,
        config=GenerateConfig(max_retries=max_retries, max_connections=max_connections),
        client_timeout=client_timeout,
        max_retries=0,
        memoize=False,
    )


def build(url: str, limit: int, **kwargs: Any) -> Any:
    (result,) = build_baselines(
        gsm8k(), served_model(BASELINE, url, **kwargs), limit=limit, display="none"
    )
    return result


def judged_run(
    items: Problems, grader: Model, limit: int, log_dir: Path, **task_args: Any
) -> EvalLog:
    from cogumi_eval.testing import scripted_model

    (log,) = inspect_eval(
        gsm8k(judge="pairwise", baseline=BASELINE, **task_args),
        model=scripted_model(items.candidate_answer, name="mockllm/candidate"),
        model_roles={"grader": grader},
        limit=limit,
        log_dir=str(log_dir),
        display="none",
    )
    return log


def verdicts(log: EvalLog) -> dict[str, str]:
    """sample id -> the pairwise score's answer."""
    return {
        str(s.id): str(s.scores["pairwise"].answer)
        for s in log.samples or []
        if s.scores and "pairwise" in s.scores
    }


def files_containing(root: Path, secret: str) -> list[str]:
    """Every file under ``root`` whose bytes hold ``secret``; zip members (``.eval``) unpacked."""
    needle = secret.encode()
    found = []
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if needle in path.read_bytes():
                found.append(str(path))
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    found += [
                        f"{path}!{member}"
                        for member in archive.namelist()
                        if needle in archive.read(member)
                    ]
    return found


def count_files(root: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(root))
