"""Dollar cost of model calls and the budget that stops new calls before a cap is passed.

A model's price comes, in order, from a TOML file passed explicitly or named
in ``$COGUMI_PRICES``; from Inspect's own model cost data (``ModelCost``: what
``--model-cost-config`` or ``set_model_cost`` registered, or what Inspect's model
database carries); and last from the price table shipped with Cogumi
(``cogumi_eval/judge/definitions/prices.toml``, plus ``prices.toml`` in
``$COGUMI_JUDGES_DIR``), which covers what Inspect lacks. A budget reserves a
call's worst case (estimated input tokens plus the full ``max_tokens``) before
the call and settles the real usage after it, so calls running at the same time
can never jointly pass the cap — stronger than Inspect's ``cost_limit``, which is
checked after calls return.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from ._definition import shipped_judges, user_judges
from ._errors import BudgetExceededError, PriceError

if TYPE_CHECKING:
    from inspect_ai.model import ModelUsage


@dataclass(frozen=True)
class Price:
    """Dollars per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


def _read_prices(path: Path | Traversable) -> dict[str, Price]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise PriceError(f"price table {path}: cannot read it ({ex})") from ex
    models = data.get("models")
    if not isinstance(models, dict):
        raise PriceError(f"price table {path}: needs a [models] table of name = {{input, output}}")
    prices: dict[str, Price] = {}
    for name, entry in models.items():
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("input"), (int, float))
            or not isinstance(entry.get("output"), (int, float))
        ):
            raise PriceError(
                f"price table {path}: {name!r} needs numeric 'input' and 'output' "
                "(dollars per million tokens)"
            )
        prices[name] = Price(float(entry["input"]), float(entry["output"]))
    return prices


def inspect_price(name: str) -> Price | None:
    """The price Inspect knows for ``name`` (its ``ModelCost``), if it knows one."""
    from inspect_ai.model import get_model_info

    try:
        info = get_model_info(name)
    except Exception:  # noqa: BLE001 - an unparseable name is simply not known to Inspect
        return None
    if info is None or info.cost is None:
        return None
    return Price(float(info.cost.input), float(info.cost.output))


@dataclass(frozen=True)
class PriceTable:
    """Model name patterns to prices; the longest matching pattern wins.

    Attributes:
        prices: the shipped (and ``$COGUMI_JUDGES_DIR``) table, below Inspect's own costs.
        sources: where the prices were read, for messages.
        overrides: entries from an explicit price file, above Inspect's own costs.
        use_inspect: consult Inspect's ``ModelCost`` data for models it knows.
    """

    prices: dict[str, Price]
    sources: tuple[str, ...] = ()
    overrides: dict[str, Price] = field(default_factory=dict)
    use_inspect: bool = True

    @classmethod
    def load(cls, override: str | Path | None = None) -> PriceTable:
        """The shipped table; Inspect's costs above it; ``override`` (``$COGUMI_PRICES``) above all.

        Args:
            override: a TOML file with a ``[models]`` table; its entries win over every other
                source.
        """
        prices: dict[str, Price] = {}
        sources: list[str] = []
        user = user_judges()
        for table in (shipped_judges().joinpath("prices.toml"), user and user / "prices.toml"):
            if table is not None and table.is_file():
                prices.update(_read_prices(table))
                sources.append(str(table))
        overrides: dict[str, Price] = {}
        extra = override or os.environ.get("COGUMI_PRICES")
        if extra:
            overrides = _read_prices(Path(extra))
            sources.append(str(extra))
        return cls(prices, tuple(sources), overrides)

    def price(self, *names: str | None) -> Price | None:
        """The first of ``names`` with a price (requested name, then reported version)."""
        for name in names:
            if not name:
                continue
            found = _match(self.overrides, name)
            if found is None and self.use_inspect:
                found = inspect_price(name)
            found = found or _match(self.prices, name)
            if found is not None:
                return found
        return None

    def usage_cost(self, usage: ModelUsage | None, *names: str | None) -> float:
        """Dollars of a call: Inspect's ``total_cost`` when it computed one, else from the price."""
        if usage is None:
            return 0.0
        if usage.total_cost is not None:
            return float(usage.total_cost)
        price = self.price(*names)
        return price.cost(usage.input_tokens, usage.output_tokens) if price else 0.0


def _match(prices: dict[str, Price], name: str) -> Price | None:
    candidates = [name]
    if "/" not in name:
        # an API reports bare versions ("gpt-4-turbo-2024-04-09"); try each provider prefix
        candidates += [f"{p.split('/', 1)[0]}/{name}" for p in prices if "/" in p]
    best: tuple[int, Price] | None = None
    for candidate in candidates:
        for pattern, price in prices.items():
            matched = (
                candidate.startswith(pattern[:-1])
                if pattern.endswith("*")
                else candidate == pattern
            )
            if matched and (best is None or len(pattern) > best[0]):
                best = (len(pattern), price)
    return best[1] if best is not None else None


def estimate_tokens(text: str) -> int:
    """A generous token estimate (one per three UTF-8 bytes) for reserving budget before a call."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 3))


@dataclass
class Budget:
    """Dollars this run may spend on new calls; ``None``: no cap (spending is still counted)."""

    limit_usd: float | None = None
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    calls: int = 0
    _what: str = field(default="model calls", repr=False)

    def reserve(self, worst_case_usd: float, what: str) -> float:
        """Hold ``worst_case_usd`` for a call, or raise before the call if it could pass the cap."""
        if self.limit_usd is not None:
            committed = self.spent_usd + self.reserved_usd
            if committed + worst_case_usd > self.limit_usd:
                raise BudgetExceededError(
                    f"budget of ${self.limit_usd:.2f} reached: ${self.spent_usd:.4f} spent on "
                    f"{self.calls} calls this run, and the next {what} could cost up to "
                    f"${worst_case_usd:.4f}. No further calls were made. Everything already "
                    "returned is stored: re-run with a larger budget (or `inspect eval-retry` the "
                    "log) and it resumes from there without paying again."
                )
        self.reserved_usd += worst_case_usd
        return worst_case_usd

    def settle(self, reservation: float, actual_usd: float) -> None:
        self.reserved_usd = max(0.0, self.reserved_usd - reservation)
        self.spent_usd += actual_usd
        self.calls += 1

    def release(self, reservation: float) -> None:
        """Give back a reservation whose call failed before any usage was reported."""
        self.reserved_usd = max(0.0, self.reserved_usd - reservation)


def require_price(prices: PriceTable, budget: Budget, *names: str | None) -> Price | None:
    """The price for ``names``; with a budget set, an unknown price is an error (cannot enforce)."""
    price = prices.price(*names)
    if price is None and budget.limit_usd is not None:
        shown = next((n for n in names if n), "<unknown>")
        raise PriceError(
            f"no price for {shown} in {', '.join(prices.sources) or 'the price table'}, so a "
            "budget cannot be enforced. Add it to a TOML file with "
            f'[models] "{shown}" = {{ input = <$/M>, output = <$/M> }} and set COGUMI_PRICES to it.'
        )
    return price
