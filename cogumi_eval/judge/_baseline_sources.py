"""Where baseline answers come from: a store folder, a JSONL file, or the baseline's eval log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._baseline import (
    BaselineRecord,
    BaselineStore,
    answer_config,
    input_sha256,
    parse_baseline_lines,
    task_key,
)
from ._cost import PriceTable
from ._errors import BaselineError

LOG_SUFFIXES = (".eval", ".json")


def records_from_log(path: str | Path, prices: PriceTable | None = None) -> list[BaselineRecord]:
    """One record per sample of an eval log (first epoch, samples that produced an answer).

    The input hash is taken from the logged messages, so these answers match
    exactly the samples that see the same prompt.
    """
    from inspect_ai.log import read_eval_log

    from .._log_problem import log_problem

    try:
        log = read_eval_log(str(path))
    except Exception as ex:  # noqa: BLE001 - Inspect raises several types for unreadable logs
        raise BaselineError(f"{path}: not a readable eval log: {log_problem(ex)}") from None
    config: dict[str, Any] = log.eval.model_generate_config.model_dump(exclude_none=True)
    config |= log.plan.config.model_dump(exclude_none=True)
    model = log.eval.model
    table = prices or PriceTable.load()
    records = []
    for sample in log.samples or []:
        if sample.epoch != 1 or sample.error or sample.output is None or not sample.output.choices:
            continue
        usage = sample.output.usage
        tokens_in = usage.input_tokens if usage else 0
        tokens_out = usage.output_tokens if usage else 0
        price = table.price(model, sample.output.model)
        usd = table.usage_cost(usage, model, sample.output.model) if usage and price else None
        if usage and usage.total_cost is not None:
            usd = float(usage.total_cost)  # Inspect priced the call itself
        records.append(
            BaselineRecord(
                task=task_key(log.eval.task),
                sample_id=str(sample.id),
                input_sha256=input_sha256(sample.messages),
                model=model,
                answer=sample.output.completion,
                config=answer_config(config),
                model_version=sample.output.model or None,
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                usd=usd,
                created_at=log.eval.created,
                source=f"log:{Path(str(path)).name}",
            )
        )
    return records


def records_from_jsonl(
    path: str | Path, task: str | None = None, model: str | None = None
) -> list[BaselineRecord]:
    """Records from a JSONL file in the store format; ``input`` (text or messages) may stand in
    for ``input_sha256``, and ``task``/``model`` fill fields a line leaves out."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    completed: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            completed.append(line)
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as ex:
            raise BaselineError(f"{path} line {number}: not valid JSON ({ex.msg})") from ex
        if isinstance(data, dict):
            if "input" in data and "input_sha256" not in data:
                data["input_sha256"] = input_sha256(data["input"])
            data.pop("input", None)
            if task and "task" not in data:
                data["task"] = task
            if model and "model" not in data:
                data["model"] = model
        completed.append(json.dumps(data))
    return parse_baseline_lines(completed, str(path))


def iter_source_records(
    source: str | Path, task: str | None = None, model: str | None = None
) -> Iterator[BaselineRecord]:
    path = Path(source)
    if not path.is_file():
        raise BaselineError(f"{source}: no such file (expected an eval log or a .jsonl file)")
    if path.suffix in LOG_SUFFIXES:
        yield from records_from_log(path)
    elif path.suffix == ".jsonl":
        yield from records_from_jsonl(path, task=task, model=model)
    else:
        raise BaselineError(f"{source}: expected an eval log (.eval, .json) or a .jsonl file")


def open_baselines(source: str | Path | None) -> BaselineStore:
    """A store folder (default ``results/baselines``), or an in-memory store of a file's answers.

    Args:
        source: a folder, a ``.jsonl`` file or an eval log of the baseline model.
    """
    if source is None:
        return BaselineStore()
    path = Path(source)
    if path.is_file():
        return BaselineStore.of(iter_source_records(path), label=str(path))
    if path.suffix in (*LOG_SUFFIXES, ".jsonl"):
        raise BaselineError(f"{source}: no such file")
    return BaselineStore(path)
