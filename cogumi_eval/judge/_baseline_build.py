"""Fill the baseline store: run a task through the baseline model once, or import earlier answers.

``build_baselines`` runs the task with Inspect's ``eval()``; its solver chain
is wrapped so that each sample's ``generate`` first hashes the exact input the
model would see and returns the stored answer when there is one. Only samples
with no stored answer for that input reach the model, so a second build makes
no model calls, and a changed prompt regenerates exactly the samples it
changed. Each new answer is appended to the store (fsynced) as soon as it
returns, so a build that is interrupted or stopped by its budget keeps what it
paid for; the file is re-sorted at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_ai import Task, eval, task_with
from inspect_ai.model import GenerateConfig, Model, ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from ._baseline import (
    AddResult,
    BaselineRecord,
    BaselineStore,
    answer_config,
    config_sha256,
    input_sha256,
    record_created_now,
    task_key,
)
from ._baseline_sources import iter_source_records
from ._cost import Budget, PriceTable, estimate_tokens, require_price
from ._errors import BaselineMissingError, BaselineStaleError, BudgetExceededError


@dataclass
class BuildResult:
    """What one ``build_baselines`` run did for one task."""

    task: str
    model: str
    generated: int = 0
    reused: int = 0
    failed: int = 0
    usd: float = 0.0
    file: str = ""
    log: str = ""
    stopped: str | None = None  # why the build stopped early (budget), if it did
    generated_ids: list[str] = field(default_factory=list)


@dataclass
class _Build:
    store: BaselineStore
    task: str
    model: str
    config: dict[str, Any]
    config_sha256: str
    budget: Budget
    prices: PriceTable
    result: BuildResult


@solver
def reuse_stored_baseline(inner: Solver, build: Any) -> Solver:
    """Run ``inner`` with a ``generate`` that serves stored answers and stores new ones.

    Args:
        inner: the task's own solver chain.
        build: the running build (store, model, config, budget).
    """
    run: _Build = build

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        async def generate_or_reuse(state: TaskState, *args: Any, **kwargs: Any) -> TaskState:
            input_hash = input_sha256(state.messages)
            try:
                record = run.store.lookup(
                    run.task, state.sample_id, run.model, input_hash, run.config_sha256
                )
            except (BaselineMissingError, BaselineStaleError):
                record = None
            if record is not None:
                state.output = ModelOutput.from_content(
                    model=record.model_version or run.model, content=record.answer
                )
                state.messages.append(state.output.message)
                state.metadata["baseline"] = "stored"
                run.result.reused += 1
                return state

            price = require_price(run.prices, run.budget, run.model)
            text = "\n".join(m.text for m in state.messages)
            worst = (
                price.cost(estimate_tokens(text), int(run.config.get("max_tokens") or 4096))
                if price
                else 0.0
            )
            try:
                reservation = run.budget.reserve(worst, "baseline answer")
            except BudgetExceededError as ex:
                run.result.stopped = str(ex)
                raise
            try:
                state = await generate(state, *args, **kwargs)
            except BaseException:
                run.budget.release(reservation)
                raise
            output = state.output
            usage = output.usage
            tokens_in = usage.input_tokens if usage else 0
            tokens_out = usage.output_tokens if usage else 0
            usd = run.prices.usage_cost(usage, run.model, output.model)
            run.budget.settle(reservation, usd)
            run.result.usd += usd
            if output.choices:
                run.store.append(
                    BaselineRecord(
                        task=run.task,
                        sample_id=str(state.sample_id),
                        input_sha256=input_hash,
                        model=run.model,
                        answer=output.completion,
                        config=run.config,
                        model_version=output.model or None,
                        input_tokens=tokens_in,
                        output_tokens=tokens_out,
                        usd=usd if price else None,
                        created_at=record_created_now(),
                        source="build",
                    )
                )
                run.result.generated += 1
                run.result.generated_ids.append(str(state.sample_id))
            else:
                run.result.failed += 1
            state.metadata["baseline"] = "generated"
            return state

        return await inner(state, generate_or_reuse)  # type: ignore[arg-type]

    return solve


def _load_tasks(task: str | Task, task_args: dict[str, Any]) -> list[Task]:
    if isinstance(task, Task):
        return [task]
    import contextlib

    from inspect_ai._eval.loader import load_tasks

    file, _, name = task.partition("@")
    path = Path(file)
    if path.is_file():
        # Inspect's loader globs the spec relative to the working folder: load from the file's own
        with contextlib.chdir(path.parent.resolve()):
            return load_tasks([f"{path.name}@{name}" if name else path.name], task_args)
    return load_tasks([task], task_args)


def build_baselines(
    task: str | Task,
    model: str | Model,
    *,
    limit: int | None = None,
    task_args: dict[str, Any] | None = None,
    store: BaselineStore | str | Path | None = None,
    temperature: float | None = 0.0,
    max_tokens: int | None = 1024,
    config: dict[str, Any] | None = None,
    budget_usd: float | None = None,
    prices: str | Path | None = None,
    model_args: dict[str, Any] | None = None,
    log_dir: str | None = None,
    display: str | None = "none",
) -> list[BuildResult]:
    """Generate the baseline answers a task still lacks and store them.

    Args:
        task: a task file (``tasks/math.py``), a registry name (``cogumi/gsm8k``) or a ``Task``.
        model: the baseline model (e.g. ``openai/gpt-4-turbo``).
        limit: only the first ``limit`` samples of the task.
        task_args: the task's options, exactly as the judged runs will set them.
        store: the baseline store (default ``results/baselines``).
        temperature: generation temperature recorded with every answer (0 for reproducible answers).
        max_tokens: cap on answer length; also bounds the cost reserved per call.
        config: further generation settings (``GenerateConfig`` fields).
        budget_usd: stop before new calls would pass this many dollars.
        prices: a TOML price table overriding the shipped one.
        model_args: provider arguments for the model (never written to the store).
        log_dir: where Inspect writes the build's eval log.
        display: Inspect's progress display ("none" by default here; ``cogumi baseline build``
            shows Inspect's own unless ``--display none``); None for Inspect's default.
    """
    target = store if isinstance(store, BaselineStore) else BaselineStore(store)
    the_model = model if isinstance(model, Model) else get_model(model, **(model_args or {}))
    table = PriceTable.load(prices)
    generation = {"temperature": temperature, "max_tokens": max_tokens, **(config or {})}
    generation = {k: v for k, v in generation.items() if v is not None}
    results = []
    for loaded in _load_tasks(task, dict(task_args or {})):
        effective = the_model.config.merge(loaded.config).merge(GenerateConfig(**generation))
        recorded = answer_config(effective.model_dump(exclude_none=True))
        name = task_key(loaded.name)
        result = BuildResult(task=name, model=str(the_model))
        build = _Build(
            store=target,
            task=name,
            model=str(the_model),
            config=recorded,
            config_sha256=config_sha256(recorded),
            budget=Budget(budget_usd),
            prices=table,
            result=result,
        )
        wrapped = task_with(loaded, solver=reuse_stored_baseline(loaded.solver, build))
        logs = eval(
            wrapped,
            model=the_model,
            limit=limit,
            log_dir=log_dir,
            display=display,  # type: ignore[arg-type]
            **generation,
        )
        if result.generated:
            target.normalise(name, str(the_model))
        result.file = str(target.file_for(name, str(the_model))) if target.root else ""
        result.log = logs[0].location if logs else ""
        if logs and logs[0].status == "error" and not result.stopped:
            error = logs[0].error.message if logs[0].error else "unknown error"
            result.stopped = f"the build run failed: {error}"
        results.append(result)
    return results


def import_baselines(
    source: str | Path,
    store: BaselineStore | str | Path | None = None,
    task: str | None = None,
    model: str | None = None,
) -> AddResult:
    """Add answers from an earlier eval log of the baseline model, or from a JSONL file.

    Args:
        source: an eval log (``.eval``/``.json``) or a ``.jsonl`` file of records.
        store: the baseline store (default ``results/baselines``).
        task: task name for JSONL lines that leave it out.
        model: model name for JSONL lines that leave it out.
    """
    target = store if isinstance(store, BaselineStore) else BaselineStore(store)
    return target.add(iter_source_records(source, task=task, model=model))
