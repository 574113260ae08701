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
verdict is stored under the version reported, later lookups of the run use it,
the change is logged as a warning and counted, and the score's metadata records
the version of each call. With ``expect_version`` (the grader version recorded
for the run being compared against) any other reported version is refused.

Why calls are bounded. A grader is a remote API that rate-limits, times out
and fails. Retries are Inspect's (its ``GenerateConfig.max_retries``,
``timeout`` and back-off); the judge only sets a finite default for both when
the grader role leaves them unset (Inspect's own default retries for ever).
Until one grader call of the run has succeeded, calls go one at a time with at
most ``FIRST_CALL_RETRIES`` retries, so a server that is down costs a few
connection attempts and one ``GraderUnreachableError``, not a retry storm. A
call that still fails after Inspect's retries (or returns a body that is not
JSON, which Inspect does not retry) counts as one failed attempt, like an
unparseable reply: the order is asked once more, then scored ``error`` and
nothing is cached, so a rerun asks for it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
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
from inspect_ai.util import collect

from .._errors import CogumiError
from ._baseline import answer_config
from ._cache import CachedVerdict, VerdictCache, verdict_key
from ._cost import Budget, PriceTable, estimate_tokens, require_price
from ._definition import JudgeDefinition, PositionVerdict
from ._verdict import Order, Outcome, candidate_outcome

logger = logging.getLogger(__name__)

PROBE_PROMPT = "Reply with the single word OK."
REPLY_LIMIT = 2000  # characters of each raw reply kept in the log
DEFAULT_MAX_RETRIES = 6  # Inspect retries for ever unless told otherwise
DEFAULT_TIMEOUT_S = 900  # per grader call, retries included
FIRST_CALL_RETRIES = 2  # until the grader has answered once in this run


class GraderUnreachableError(CogumiError):
    """The grader's server refused the connection, or failed the version probe twice."""


class GraderVersionError(CogumiError):
    """The grader reports a model other than the version the run must be judged by."""


class GraderCallFailed(Exception):
    """One grader call failed after Inspect's retries; the order may be asked once more."""


def _causes(ex: BaseException) -> list[BaseException]:
    """``ex``, the exception a tenacity ``RetryError`` gave up on, and their causes."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [ex]
    while todo:
        current = todo.pop()
        if current is None or current in found:
            continue
        found.append(current)
        last = getattr(current, "last_attempt", None)  # tenacity.RetryError
        if last is not None and last.failed:
            todo.append(last.exception())
        todo += [current.__cause__, current.__context__]
    return found


def refused_connection(ex: BaseException) -> bool:
    """Whether a failed call never reached a server (connection refused, no route)."""
    return any(
        type(c).__name__ == "ConnectError" or isinstance(c, ConnectionRefusedError)
        for c in _causes(ex)
    )


def gave_up(ex: BaseException) -> bool:
    """Whether ``ex`` is a transport failure Inspect retried and gave up on, or did not retry.

    Those become a failed attempt (then ``error``); anything else (a refused key, an
    unknown model, a bad request) is a configuration problem and stops the run.
    """
    import json

    if type(ex).__name__ == "RetryError":
        return True
    if isinstance(ex, json.JSONDecodeError | TimeoutError):
        return True
    status = getattr(ex, "status_code", None)
    return isinstance(status, int) and (status == 429 or status >= 500)


def base_url_of(grader: Model) -> str:
    return str(getattr(grader.api, "base_url", None) or "its default URL")


def truncate(text: str, limit: int = REPLY_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"… [{len(text) - limit} more characters]"


def reported_version(alias: str, output_model: str | None) -> tuple[str, bool]:
    """The version a reply reports, and whether ``alias`` is pinned to it (reported as asked).

    The name asked for is the alias without its provider (``openai/gpt-4o`` → ``gpt-4o``)
    or, for a served model, without provider and service (``openai-api/local/m`` → ``m``).
    """
    version = output_model or alias
    asked = {alias, alias.split("/", 1)[-1], alias.rsplit("/", 1)[-1]}
    return version, version in asked


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
    failed_calls: int = 0  # calls that failed after Inspect's retries
    version_changes: list[tuple[str, str]] = field(default_factory=list)


class JudgeRun:
    """Per-run state shared by every sample a scorer instance judges.

    Args:
        definition: the judge.
        cache: the verdict cache (opened lazily when None).
        prices: the price table (loaded lazily when None).
        budget_usd: cap on new grader spending this run (None: no cap).
        probe: re-resolve floating grader aliases once per run (see module docstring).
        expect_version: the grader version this run must be judged by (e.g. the one recorded
            in the judged log it will be compared with); any other reported version is refused.
    """

    def __init__(
        self,
        definition: JudgeDefinition,
        cache: VerdictCache | None = None,
        prices: PriceTable | None = None,
        budget_usd: float | None = None,
        probe: bool = True,
        expect_version: str | None = None,
    ) -> None:
        self.definition = definition
        self._cache = cache
        self._prices = prices
        self.budget = Budget(budget_usd)
        self.probe = probe
        self.expect_version = expect_version
        self.counters = RunCounters()
        self._identities: dict[str, GraderIdentity] = {}
        self._identity_lock: anyio.Lock | None = None
        self._first_call_lock: anyio.Lock | None = None
        self._answered = False  # a grader call of this run has succeeded
        self._unreachable: GraderUnreachableError | None = None  # raised again, never re-asked
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
        """The judge's generation settings; the grader role's own settings win where set."""
        return GenerateConfig(
            temperature=self.definition.temperature,
            max_tokens=self.definition.max_tokens,
            max_retries=DEFAULT_MAX_RETRIES,
            timeout=DEFAULT_TIMEOUT_S,
        ).merge(grader.config)

    def check_version(self, alias: str, version: str) -> None:
        """Refuse a grader version other than ``expect_version``, naming both."""
        if self.expect_version is not None and version != self.expect_version:
            raise GraderVersionError(
                f"grader {alias} is served by {version!r}, but this run must be judged by "
                f"{self.expect_version!r} (the grader version recorded for the run it is compared "
                "with); verdicts of two graders do not compare. Serve that model, or pass "
                f"grader_version={version!r} to judge with the served one."
            )

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
            output = await self._call(grader, messages, config)
        except BaseException:
            self.budget.release(reservation)
            raise
        _, _, usd = self._cost(alias, output.model, output)
        self.budget.settle(reservation, usd)
        return output, usd

    async def _call(
        self, grader: Model, messages: list[ChatMessage], config: GenerateConfig
    ) -> ModelOutput:
        """One grader call with Inspect's retries; the run's first call alone and fail-fast."""
        if self._unreachable is not None:
            raise self._unreachable
        if self._answered:
            return await self._attempt(grader, messages, config)
        if self._first_call_lock is None:
            self._first_call_lock = anyio.Lock()
        async with self._first_call_lock:
            if self._unreachable is not None:
                raise self._unreachable
            if self._answered:
                return await self._attempt(grader, messages, config)
            asked = config.max_retries
            retries = FIRST_CALL_RETRIES if asked is None else min(asked, FIRST_CALL_RETRIES)
            output = await self._attempt(grader, messages, config.merge({"max_retries": retries}))
            self._answered = True
            return output

    async def _attempt(
        self, grader: Model, messages: list[ChatMessage], config: GenerateConfig
    ) -> ModelOutput:
        try:
            return await grader.generate(messages, config=config)
        except Exception as ex:
            if refused_connection(ex):
                self._unreachable = GraderUnreachableError(
                    f"grader {grader} at {base_url_of(grader)} refused the connection "
                    f"({_describe(ex)}); the server is down or the base URL is wrong. Start it, "
                    "or fix base_url (-M base_url= or the provider's *_BASE_URL variable)."
                )
                raise self._unreachable from ex
            if gave_up(ex):
                self.counters.failed_calls += 1
                raise GraderCallFailed(_describe(ex)) from ex
            raise

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
                self.check_version(alias, identity.version)
            else:
                output, usd = await self._probe(grader)
                self.counters.probe_calls += 1
                self.counters.probe_usd += usd
                self.counters.probe_reported = False
                version, pinned = reported_version(alias, output.model)
                self.check_version(alias, version)
                self.cache.set_alias(alias, version, pinned)
                identity = GraderIdentity(alias, version, pinned, probed=True)
            self._identities[alias] = identity
            return identity

    async def _probe(self, grader: Model) -> tuple[ModelOutput, float]:
        config = self.config(grader).merge(GenerateConfig(max_tokens=5, temperature=0.0))
        failure = ""
        for _ in range(2):
            try:
                return await self._generate(
                    grader, [ChatMessageUser(content=PROBE_PROMPT)], config, "grader version probe"
                )
            except GraderCallFailed as ex:
                failure = str(ex)
        raise GraderUnreachableError(
            f"grader {grader} at {base_url_of(grader)} failed the version probe twice ({failure}); "
            "no verdict can be keyed without knowing which model answers. Check the server."
        )

    def _moved(self, identity: GraderIdentity, version: str, pinned: bool) -> GraderIdentity:
        """The grader reported a new version mid-run: key this and later verdicts by it."""
        self.check_version(identity.alias, version)
        current = self._identities.get(identity.alias, identity)
        if current.version != version:
            self.counters.version_changes.append((current.version, version))
            logger.warning(
                "grader %s changed model during the run: %s -> %s; verdicts from here on are "
                "cached under %s and none of %s's is reused for them",
                identity.alias,
                current.version,
                version,
                version,
                current.version,
            )
            current = GraderIdentity(identity.alias, version, pinned, probed=identity.probed)
            self._identities[identity.alias] = current
            self.cache.set_alias(identity.alias, version, pinned)
        return current

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

    async def judge_orders(
        self,
        grader: Model,
        orders: Sequence[Order],
        repeats: int,
        question: str,
        reference: str | None,
        candidate: str,
        baseline: str,
    ) -> list[JudgeCall]:
        """Every order of every repeat, concurrently; a judge error surfaces as itself.

        The orders run in a task group, which would wrap an error such as
        ``GraderUnreachableError`` in an exception group; the first Cogumi error is
        raised on its own so the log's error says what went wrong.
        """
        try:
            return await collect(
                *[
                    self.judge_order(grader, order, r, question, reference, candidate, baseline)
                    for r in range(repeats)
                    for order in orders
                ]
            )
        except BaseExceptionGroup as group:
            found = group.subgroup(lambda e: isinstance(e, CogumiError))
            if found is None:
                raise
            first: BaseException = found
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None

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
        answer_a, answer_b = (
            (candidate, baseline) if order == "candidate_first" else (baseline, candidate)
        )
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
        for _ in range(2):  # one retry for an unparseable reply or a failed call, then 'error'
            call.attempts += 1
            try:
                output, usd = await self._generate(grader, messages, config, "grader call")
            except GraderCallFailed as ex:
                call.replies.append(truncate(f"[grader call failed: {ex}]"))
                continue
            self.counters.grader_calls += 1
            version, pinned = reported_version(identity.alias, output.model)
            if version != identity.version:
                identity = self._moved(identity, version, pinned)
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
                        key=self.key(
                            version, config, question, reference, answer_a, answer_b, repeat
                        ),
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


def _describe(ex: BaseException) -> str:
    """The innermost useful message of a failed call (through tenacity's ``RetryError``)."""
    causes = _causes(ex)
    inner = next((c for c in causes if type(c).__name__ != "RetryError"), ex)
    retried = " after Inspect's retries" if type(ex).__name__ == "RetryError" else ""
    return f"{type(inner).__name__}: {inner}{retried}"
