"""Prices from data and the budget that stops calls before the cap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cogumi_eval.judge import Budget, BudgetExceededError, Price, PriceError, PriceTable
from cogumi_eval.judge._cost import require_price


def test_a_dated_snapshot_is_priced_by_its_family() -> None:
    table = PriceTable.load()
    assert table.price("openai/gpt-4-turbo-2024-04-09") == table.price("openai/gpt-4-turbo")


def test_a_bare_reported_version_is_priced_through_the_provider_prefix() -> None:
    price = PriceTable.load().price("gpt-4-turbo-2024-04-09")
    assert price is not None and (price.input, price.output) == (10.0, 30.0)


def test_the_longest_matching_pattern_wins() -> None:
    table = PriceTable.load()
    assert table.price("openai/gpt-4o-mini-2024-07-18").input == 0.15  # not gpt-4o*'s 2.50


def test_an_override_file_replaces_shipped_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    override = tmp_path / "prices.toml"
    override.write_text('[models]\n"openai/gpt-4-turbo*" = { input = 1.0, output = 2.0 }\n')
    monkeypatch.setenv("COGUMI_PRICES", str(override))
    assert PriceTable.load().price("openai/gpt-4-turbo").cost(1_000_000, 1_000_000) == 3.0


def test_a_malformed_price_file_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text('[models]\n"x/y" = { input = "cheap" }\n')
    with pytest.raises(PriceError, match="'x/y' needs numeric"):
        PriceTable.load(bad)


def test_the_budget_refuses_a_call_that_could_pass_the_cap() -> None:
    budget = Budget(limit_usd=1.0)
    budget.settle(budget.reserve(0.6, "call"), 0.6)
    with pytest.raises(BudgetExceededError, match=r"budget of \$1.00 reached"):
        budget.reserve(0.5, "grader call")


def test_calls_in_flight_count_against_the_budget() -> None:
    budget = Budget(limit_usd=1.0)
    budget.reserve(0.6, "first call")
    with pytest.raises(BudgetExceededError):
        budget.reserve(0.6, "second call")


def test_a_budget_for_a_model_without_a_price_is_an_error() -> None:
    with pytest.raises(PriceError, match="no price for someone/unknown"):
        require_price(PriceTable.load(), Budget(5.0), "someone/unknown")


def _inspect_cost(model: str, input: float, output: float) -> None:
    from inspect_ai.model import ModelCost, ModelInfo, set_model_info

    cost = ModelCost(input=input, output=output, input_cache_write=0.0, input_cache_read=0.0)
    set_model_info(model, ModelInfo(cost=cost))


@pytest.fixture
def _inspect_costs() -> Iterator[None]:
    from inspect_ai.model._model_info import clear_model_info_cache

    yield
    clear_model_info_cache()


@pytest.mark.usefixtures("_inspect_costs")
def test_inspect_model_costs_win_over_the_shipped_table() -> None:
    _inspect_cost("openai/gpt-4-turbo", 1.0, 2.0)
    table = PriceTable.load()
    assert table.price("openai/gpt-4-turbo") == Price(1.0, 2.0)
    assert table.price("openai/gpt-4o") == Price(2.5, 10.0)  # Inspect has no cost for it: the table


@pytest.mark.usefixtures("_inspect_costs")
def test_an_explicit_price_file_wins_over_inspect(tmp_path: Path) -> None:
    _inspect_cost("openai/gpt-4-turbo", 1.0, 2.0)
    override = tmp_path / "prices.toml"
    override.write_text('[models]\n"openai/gpt-4-turbo*" = { input = 5.0, output = 6.0 }\n')
    assert PriceTable.load(override).price("openai/gpt-4-turbo") == Price(5.0, 6.0)


def test_a_call_inspect_priced_costs_what_inspect_says() -> None:
    from inspect_ai.model import ModelUsage

    usage = ModelUsage(input_tokens=1000, output_tokens=1000, total_tokens=2000, total_cost=0.5)
    assert PriceTable.load().usage_cost(usage, "openai/gpt-4-turbo") == 0.5
    usage.total_cost = None
    assert PriceTable.load().usage_cost(usage, "openai/gpt-4-turbo") == pytest.approx(0.04)


def test_the_price_table_ships_inside_the_package() -> None:
    table = PriceTable.load()
    assert table.sources and table.sources[0].endswith("cogumi_eval/judge/definitions/prices.toml")
    assert table.price("mockllm/model") == Price(0.0, 0.0)
