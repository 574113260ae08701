"""Asking the grader: resolved model version, verdict cache, one retry, budget.

Why a probe. A cached verdict is only valid for the model that gave it, and a
name such as ``openai/gpt-4-turbo`` is an alias the provider may repoint; the
version it resolves to (``gpt-4-turbo-2024-04-09``, the ``model`` field of the
reply) is known only after a call. Verdicts are therefore keyed by the
*reported* version, and each run learns the version before its first lookup:

- a *pinned* name (the API reported back the name that was asked for, e.g. a
  dated snapshot or a local model) is resolved from the cache's alias table,
  with no call — a fully cached rerun makes zero grader calls;
- a *floating* alias (the API reported a different name) is re-resolved once
  per run by a one-line probe call (a few tokens, counted in the cost); if the
  alias now points at a new version, no old verdict matches its key.

If a verdict call mid-run reports a version other than the probed one, the
verdict is stored under the version reported and later lookups of the run use
it; the score's metadata records the version of each call.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import anyio
from inspect_ai.model import (
    ChatMessage,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    Model,
    ModelOutput,
)

from ._baseline import answer_config
from ._cache import CachedVerdict, VerdictCache, verdict_key
from ._cost import Budget, PriceTable, estimate_tokens, require_price
from ._definition import JudgeDefinition, PositionVerdict
from ._verdict import Order, Outcome, candidate_outcome

logger = logging.getLogger(__name__)

PROBE_PROMPT = "Reply with the single word OK."
REPLY_LIMIT = 2000  # characters of each raw reply kept in the log


def truncate(text: str, limit: int = REPLY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters]"


def reported_version(alias: str, output_model: str | None) -> tuple[str, bool]:
    """The version a reply reports, and whether ``alias`` is pinned to it (reported as asked)."""
    bare = alias.split("/", 1)[1] if "/" in alias else alias
    version = output_model or alias
    return version, version in (alias, bare)


@dataclass
class GraderIdentity:
    alias: str
    version: str
    pinned: bool
    probed: bool


@dataclass
class JudgeCall:
    """One order of one repeat, as recorded in the score metadata."""

    repeat: int
    order: Order
    verdict: PositionVerdict | None
    outcome: Outcome
    cache: str  # "hit" or "miss"
    attempts: int
    grader_version: str
    replies: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    usd: float = 0.0  # spent on this call in this run
    usd_cached: float = 0.0  # what a cached verdict cost when it was bought

    def as_metadata(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunCounters:
    hits: int = 0
    misses: int = 0
    grader_calls: int = 0
    probe_calls: int = 0
    probe_usd: float = 0.0
    probe_reported: bool = True


class JudgeRun:
    """Per-run state shared by every sample a scorer instance judges.

    Args:
        definition: the judge.
        cache: the verdict cache (opened lazily when None).
        prices: the price table (loaded lazily when None).
        budget_usd: cap on new grader spending this run (None: no cap).
        probe: re-resolve floating grader aliases once per run (see module docstring).
    """

    def __init__(
        self,
        definition: JudgeDefinition,
        cache: VerdictCache | None = None,
        prices: PriceTable | None = None,
        budget_usd: float | None = None,
        probe: bool = True,
    ) -> None:
        self.definition = definition
        self._cache = cache
        self._prices = prices
        self.budget = Budget(budget_usd)
        self.probe = probe
        self.counters = RunCounters()
        self._identities: dict[str, GraderIdentity] = {}
        self._identity_lock: anyio.Lock | None = None
        self._unpriced: set[str] = set()

    @property
    def cache(self) -> VerdictCache:
        if self._cache is None:
            self._cache = VerdictCache()
        return self._cache

    @property
    def prices(self) -> PriceTable:
        if self._prices is None:
            self._prices = PriceTable.load()
        return self._prices

    def config(self, grader: Model) -> GenerateConfig:
        """The judge's generation settings, with the grader role's own settings winning where set."""
        return GenerateConfig(
            temperature=self.definition.temperature, max_tokens=self.definition.max_tokens
        ).merge(grader.config)

    def _cost(self, alias: str, version: str, output: ModelOutput) -> tuple[int, int, float]:
        usage = output.usage
        tokens_in = usage.input_tokens if usage else 0
        tokens_out = usage.output_tokens if usage else 0
        price = self.prices.price(alias, version)
        if price is None and alias not in self._unpriced:
            self._unpriced.add(alias)
            logger.warning(
                "no price for grader %s (%s) in %s: its cost is counted as $0. Add it to a TOML "
                "price table and set COGUMI_PRICES.",
                alias,
                version,
                ", ".join(self.prices.sources) or "the price table",
            )
        return tokens_in, tokens_out, price.cost(tokens_in, tokens_out) if price else 0.0

    async def _generate(
        self, grader: Model, messages: list[ChatMessage], config: GenerateConfig, what: str
    ) -> tuple[ModelOutput, float]:
        alias = str(grader)
        known = self._identities.get(alias)
        price = require_price(self.prices, self.budget, alias, known.version if known else None)
        prompt_text = "\n".join(m.text for m in messages)
        worst = (
            price.cost(estimate_tokens(prompt_text), config.max_tokens or 4096) if price else 0.0
        )
        reservation = self.budget.reserve(worst, what)
        try:
            output = await grader.generate(messages, config=config)
        except BaseException:
            self.budget.release(reservation)
            raise
        _, _, usd = self._cost(alias, output.model, output)
        self.budget.settle(reservation, usd)
        return output, usd

    async def identity(self, grader: Model) -> GraderIdentity:
        """The grader's resolved version for this run (probing a floating alias once)."""
        alias = str(grader)
        if alias in self._identities:
            return self._identities[alias]
        if self._identity_lock is None:
            self._identity_lock = anyio.Lock()
        async with self._identity_lock:
            if alias in self._identities:
                return self._identities[alias]
            known = self.cache.alias(alias)
            if known is not None and (known.pinned or not self.probe):
                identity = GraderIdentity(alias, known.version, known.pinned, probed=False)
            else:
                output, usd = await self._generate(
                    grader,
                    [ChatMessageUser(content=PROBE_PROMPT)],
                    GenerateConfig(max_tokens=5, temperature=0.0),
                    "grader version probe",
                )
                self.counters.probe_calls += 1
                self.counters.probe_usd += usd
                self.counters.probe_reported = False
                version, pinned = reported_version(alias, output.model)
                self.cache.set_alias(alias, version, pinned)
                identity = GraderIdentity(alias, version, pinned, probed=True)
            self._identities[alias] = identity
            return identity

    def take_probe_report(self) -> dict[str, Any]:
        """The probe's calls and cost, reported once (on the first score that asks)."""
        if self.counters.probe_reported:
            return {}
        self.counters.probe_reported = True
        return {"probe_calls": self.counters.probe_calls, "probe_usd": self.counters.probe_usd}

    def key(
        self,
        version: str,
        config: GenerateConfig,
        question: str,
        reference: str | None,
        answer_a: str,
        answer_b: str,
        repeat: int,
    ) -> str:
        d = self.definition
        return verdict_key(
            grader=version,
            template=d.id,
            template_version=d.version,
            template_sha256=d.fingerprint,
            config=answer_config(config.model_dump(exclude_none=True)),
            question=question,
            reference=reference,
            answer_a=answer_a,
            answer_b=answer_b,
            repeat=repeat,
        )

    async def judge_order(
        self,
        grader: Model,
        order: Order,
        repeat: int,
        question: str,
        reference: str | None,
        candidate: str,
        baseline: str,
    ) -> JudgeCall:
        """One order of one repeat: from the cache, else asked (and retried once if unparseable)."""
        identity = await self.identity(grader)
        config = self.config(grader)
        answer_a, answer_b = (candidate, baseline) if order == "candidate_first" else (baseline, candidate)
        key = self.key(identity.version, config, question, reference, answer_a, answer_b, repeat)
        cached = self.cache.get(key)
        if cached is not None:
            self.counters.hits += 1
            verdict: PositionVerdict = cached.verdict  # type: ignore[assignment]
            return JudgeCall(
                repeat=repeat,
                order=order,
                verdict=verdict,
                outcome=candidate_outcome(order, verdict),
                cache="hit",
                attempts=0,
                grader_version=cached.grader_version,
                replies=[truncate(cached.reply)],
                usd_cached=cached.usd or 0.0,
            )

        self.counters.misses += 1
        d = self.definition
        messages: list[ChatMessage] = []
        if d.system:
            messages.append(ChatMessageSystem(content=d.system))
        messages.append(ChatMessageUser(content=d.render(question, answer_a, answer_b, reference)))
        call = JudgeCall(repeat, order, None, "error", "miss", 0, identity.version)
        for _ in range(2):  # one retry for an unparseable reply, then 'error'
            output, usd = await self._generate(grader, messages, config, "grader call")
            self.counters.grader_calls += 1
            call.attempts += 1
            version, pinned = reported_version(identity.alias, output.model)
            if version != identity.version:
                # the alias moved during the run: key this and later verdicts by what served them
                identity = GraderIdentity(identity.alias, version, pinned, probed=identity.probed)
                self._identities[identity.alias] = identity
                self.cache.set_alias(identity.alias, version, pinned)
            tokens_in, tokens_out, _ = self._cost(identity.alias, version, output)
            call.grader_version = version
            call.input_tokens += tokens_in
            call.output_tokens += tokens_out
            call.usd += usd
            reply = output.completion
            call.replies.append(truncate(reply))
            parsed = d.grammar.parse(reply)
            if parsed is not None:
                call.verdict = parsed
                call.outcome = candidate_outcome(order, parsed)
                self.cache.put(
                    CachedVerdict(
                        key=self.key(version, config, question, reference, answer_a, answer_b, repeat),
                        verdict=parsed,
                        reply=reply,
                        grader=identity.alias,
                        grader_version=version,
                        template_id=d.id,
                        template_version=d.version,
                        input_tokens=call.input_tokens,
                        output_tokens=call.output_tokens,
                        usd=call.usd,
                        created_at=time.time(),
                    )
                )
                break
        return call
