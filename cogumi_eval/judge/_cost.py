"""Dollar cost of model calls and the budget that stops new calls before a cap is passed.

Prices are data (``judges/prices.toml``), overridden entry by entry by the
TOML file named in ``$COGUMI_PRICES`` or passed explicitly. A budget reserves
a call's worst case (estimated input tokens plus the full ``max_tokens``)
before the call and settles the real usage after it, so calls running at the
same time can never jointly pass the cap.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ._definition import judges_dir
from ._errors import BudgetExceededError, PriceError


@dataclass(frozen=True)
class Price:
    """Dollars per million input and output tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


def _read_prices(path: Path) -> dict[str, Price]:
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


@dataclass(frozen=True)
class PriceTable:
    """Model name patterns to prices; the longest matching pattern wins."""

    prices: dict[str, Price]
    sources: tuple[str, ...] = ()

    @classmethod
    def load(cls, override: str | Path | None = None) -> PriceTable:
        """The shipped table, overridden by ``override`` or else by ``$COGUMI_PRICES``.

        Args:
            override: a TOML file with a ``[models]`` table; its entries replace the shipped ones.
        """
        default = judges_dir() / "prices.toml"
        prices = _read_prices(default) if default.is_file() else {}
        sources = [str(default)] if default.is_file() else []
        extra = override or os.environ.get("COGUMI_PRICES")
        if extra:
            prices.update(_read_prices(Path(extra)))
            sources.append(str(extra))
        return cls(prices, tuple(sources))

    def price(self, *names: str | None) -> Price | None:
        """The price for the first of ``names`` that matches (requested name, then reported version)."""
        for name in names:
            if not name:
                continue
            candidates = [name]
            if "/" not in name:
                # an API reports bare versions ("gpt-4-turbo-2024-04-09"); try each provider prefix
                candidates += [f"{p.split('/', 1)[0]}/{name}" for p in self.prices if "/" in p]
            best: tuple[int, Price] | None = None
            for candidate in candidates:
                for pattern, price in self.prices.items():
                    matched = (
                        candidate.startswith(pattern[:-1])
                        if pattern.endswith("*")
                        else candidate == pattern
                    )
                    if matched and (best is None or len(pattern) > best[0]):
                        best = (len(pattern), price)
            if best is not None:
                return best[1]
        return None


def estimate_tokens(text: str) -> int:
    """A generous token estimate (one per three UTF-8 bytes) for reserving budget before a call."""
    return max(1, math.ceil(len(text.encode("utf-8")) / 3))


@dataclass
class Budget:
    """Dollars this run may spend on new calls; ``None`` means no cap (spending is still counted)."""

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
    """The price for ``names``; with a budget set, an unknown price is an error (it cannot be enforced)."""
    price = prices.price(*names)
    if price is None and budget.limit_usd is not None:
        shown = next((n for n in names if n), "<unknown>")
        raise PriceError(
            f"no price for {shown} in {', '.join(prices.sources) or 'the price table'}, so a "
            "budget cannot be enforced. Add it to a TOML file with "
            f'[models] "{shown}" = {{ input = <$/M>, output = <$/M> }} and set COGUMI_PRICES to it.'
        )
    return price
