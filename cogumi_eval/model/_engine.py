"""Continuous batching for a transformers causal LM: one forward pass per decode step for all
requests.

Concurrent requests are left-padded into one batch that shares a KV cache.
Each step feeds every row its last token; a row that finishes (EOS, a stop
sequence, ``max_new_tokens``) is answered at once and dropped from the cache,
and requests that arrived meanwhile are prefilled together and merged into the
running batch (their cache left-padded to the same width), so a long answer
does not hold the GPU for a nearly empty batch.

With ``slot_decoding`` the rows decode in preallocated KV slots instead
(``_slots.SlotDecoder``): prefill is the same, but each step is one CUDA graph
replay rather than a transformers forward pass, and a finished row's slot is
refilled without copying anyone's cache.

Greedy rows take the argmax; sampled rows draw from their own seeded
generator, so a seeded request's answer does not depend on what it was batched
with.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from ._slots import SlotDecoder

logger = logging.getLogger(__name__)

FinishReason = Literal["eos", "stop", "length", "cancelled"]


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt to continue, with its own decoding settings."""

    prompt: list[int]
    max_new_tokens: int
    temperature: float = 0.0
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


@dataclass(frozen=True)
class GenerationResult:
    """The new tokens (EOS excluded) and how decoding ended."""

    tokens: list[int]
    finish: FinishReason
    batch_size: int
    """The largest batch this request was decoded in."""
    seconds: float


@dataclass
class EngineStats:
    """Where the decoding thread spent its time (for benchmarks and tuning)."""

    prefills: int = 0
    prefill_seconds: float = 0.0
    steps: int = 0
    step_seconds: float = 0.0
    merges: int = 0
    graph_replays: int = 0


@dataclass
class _Row:
    request: GenerationRequest
    future: concurrent.futures.Future[GenerationResult]
    enqueued_step: int
    tokens: list[int] = field(default_factory=list)
    generator: torch.Generator | None = None
    started: float = 0.0
    max_batch: int = 0


@dataclass
class _Batch:
    cache: Any
    mask: torch.Tensor
    """[rows, width] 1 for real tokens, 0 for left padding."""
    next_tokens: torch.Tensor
    """[rows] the token each row feeds next."""
    positions: torch.Tensor
    """[rows] the position of that token (its row's real length so far)."""
    rows: list[_Row]


def _new_cache(config: Any) -> Any:
    from transformers import DynamicCache

    try:
        return DynamicCache(config=config)
    except TypeError:  # transformers < 4.56
        return DynamicCache()


def _plain_layers(cache: Any) -> list[Any] | None:
    """The cache's layers when every one is a plain growing layer (mergeable, croppable)."""
    layers = getattr(cache, "layers", None)
    if not layers or any(type(layer).__name__ != "DynamicLayer" for layer in layers):
        return None
    if any(getattr(layer, "keys", None) is None for layer in layers):
        return None
    return list(layers)


class BatchEngine:
    """Serves ``GenerationRequest``s from any thread; decoding runs in one background thread.

    Args:
        model: a transformers causal LM, already on its device and in eval mode.
        eos_ids: token ids that end a sequence.
        decode: token ids -> text, used to look for stop sequences.
        max_batch: the most rows decoded together.
        max_prefill_tokens: padded prompt tokens prefilled in one forward pass.
        kv_budget_tokens: cache slots (rows x width) that fit in memory; None for no limit.
        pad_id: the token id used for left padding (masked out).
        slot_decoding: decode in preallocated KV slots (the model must pass ``slot_compatible``).
        graphs: with slot decoding, replay each step as a CUDA graph.
        context: the model's context length, the widest a slot may be.
    """

    def __init__(
        self,
        model: Any,
        *,
        eos_ids: set[int],
        decode: Callable[[list[int]], str],
        max_batch: int,
        max_prefill_tokens: int = 16384,
        kv_budget_tokens: int | None = None,
        pad_id: int = 0,
        slot_decoding: bool = False,
        graphs: bool = False,
        context: int | None = None,
    ) -> None:
        self.model = model
        self.eos_ids = set(eos_ids)
        self.decode = decode
        self.max_batch = max_batch
        self.max_prefill_tokens = max_prefill_tokens
        self.kv_budget_tokens = kv_budget_tokens
        self.pad_id = pad_id
        self.slot_decoding = slot_decoding
        self.graphs = graphs
        self.context = context
        self._decoder: SlotDecoder | None = None
        self._slot_rows: dict[int, _Row] = {}
        self.device = next(model.parameters()).device
        # a PeftModel forwards **kwargs: read the wrapped model's signature
        core = model.get_base_model() if hasattr(model, "get_base_model") else model
        params = inspect.signature(core.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._keep_kw = "logits_to_keep" in params
        self._pending: deque[_Row] = deque()
        self._cv = threading.Condition()
        self._closed = False
        self._batch: _Batch | None = None
        self._mergeable: bool | None = None
        self._step_count = 0
        self.largest_batch = 0
        self.stats = EngineStats()
        self._thread = threading.Thread(target=self._run, name="cogumi-hf-engine", daemon=True)
        self._thread.start()

    # -- public ---------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> concurrent.futures.Future[GenerationResult]:
        """Queue ``request``; the future resolves when its decoding ends (cancel it to drop it)."""
        future: concurrent.futures.Future[GenerationResult] = concurrent.futures.Future()
        if request.max_new_tokens <= 0:
            future.set_result(GenerationResult([], "length", 0, 0.0))
            return future
        with self._cv:
            if self._closed:
                raise RuntimeError("the generation engine is closed")
            self._pending.append(_Row(request, future, self._step_count))
            self._cv.notify()
        return future

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()
        self._thread.join(timeout=30)

    # -- the decoding thread ----------------------------------------------------

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                with self._cv:
                    while not self._closed and not self._pending and not self._busy():
                        self._cv.wait()
                    if self._closed:
                        break
                    idle = not self._busy()
                if idle:
                    self._gather()
                try:
                    self._admit()
                    if self._slot_rows:
                        self._slot_step()
                    elif self._batch is not None:
                        self._step()
                except Exception as ex:  # noqa: BLE001  fail the affected requests; keep serving others
                    self._fail_batch(ex)
        self._fail_all(RuntimeError("the generation engine was closed"))

    def _busy(self) -> bool:
        return self._batch is not None or bool(self._slot_rows)

    def _gather(self, quiet: float = 0.02, longest: float = 0.25) -> None:
        # Inspect starts its samples' requests within milliseconds of each other:
        # wait for the burst to end so they prefill together.
        deadline = time.monotonic() + longest
        count = -1
        while time.monotonic() < deadline:
            with self._cv:
                if len(self._pending) == count or len(self._pending) >= self.max_batch:
                    return
                count = len(self._pending)
            time.sleep(quiet)

    def _take_pending(self) -> list[_Row]:
        if self.slot_decoding:
            return self._take_for_slots()
        batch = self._batch
        running = len(batch.rows) if batch else 0
        free = self.max_batch - running
        with self._cv:
            while self._pending and self._pending[0].future.cancelled():
                self._pending.popleft()
            if not self._pending or free <= 0:
                return []
            waited = self._step_count - self._pending[0].enqueued_step
            # merging copies the running cache: do it for a worthwhile group, or when a request
            # waited long
            if batch is not None and free < max(1, self.max_batch // 8) and waited < 64:
                return []
            if batch is not None and not self._mergeable:
                return []
            width = batch.mask.shape[1] if batch else 0
            remaining = (
                max((r.request.max_new_tokens - len(r.tokens) for r in batch.rows), default=0)
                if batch
                else 0
            )
            taken: list[_Row] = []
            while self._pending and len(taken) < free:
                row = self._pending[0]
                if row.future.cancelled():
                    self._pending.popleft()
                    continue
                new_width = max(width, len(row.request.prompt))
                new_remaining = max(remaining, row.request.max_new_tokens)
                slots = (running + len(taken) + 1) * (new_width + new_remaining)
                if (
                    self.kv_budget_tokens is not None
                    and slots > self.kv_budget_tokens
                    and (running or taken)
                ):
                    break
                width, remaining = new_width, new_remaining
                taken.append(self._pending.popleft())
            return taken

    def _take_for_slots(self) -> list[_Row]:
        decoder = self._decoder
        running = len(self._slot_rows)
        capacity = decoder.slots if decoder else self.max_batch
        with self._cv:
            while self._pending and self._pending[0].future.cancelled():
                self._pending.popleft()
            free = capacity - running
            if not self._pending or free <= 0:
                return []
            waited = self._step_count - self._pending[0].enqueued_step
            if running and free < max(1, capacity // 8) and waited < 64:
                return []
            taken: list[_Row] = []
            while self._pending and len(taken) < free:
                row = self._pending[0]
                if row.future.cancelled():
                    self._pending.popleft()
                    continue
                need = len(row.request.prompt) + row.request.max_new_tokens
                if decoder is not None and need > decoder.width:
                    if running or taken:
                        break  # let the slots drain, then make them wider
                    self._decoder = decoder = None
                    capacity = free = self.max_batch
                taken.append(self._pending.popleft())
            return taken

    def _allocate(self, rows: list[_Row]) -> list[_Row]:
        """Create the slot decoder wide enough for ``rows``; the rows that do not fit go back to
        the queue."""
        need = max(len(r.request.prompt) + r.request.max_new_tokens for r in rows)
        width = max(512, -(-need // 256) * 256)
        if self.context:
            width = min(width, max(self.context, need))
        slots = self.max_batch
        if self.kv_budget_tokens is not None:
            slots = max(1, min(slots, self.kv_budget_tokens // width))
        self._decoder = None  # free the old buffers first
        self._decoder = SlotDecoder(self.model, slots=slots, width=width, graphs=self.graphs)
        if len(rows) > slots:
            with self._cv:
                self._pending.extendleft(reversed(rows[slots:]))
            rows = rows[:slots]
        return rows

    def _admit(self) -> None:
        rows = self._take_pending()
        if not rows:
            return
        if self.slot_decoding and self._decoder is None:
            rows = self._allocate(rows)
        rows.sort(key=lambda r: len(r.request.prompt))
        group: list[_Row] = []
        for row in rows:
            longest = (
                max(len(row.request.prompt), *(len(r.request.prompt) for r in group))
                if group
                else len(row.request.prompt)
            )
            if group and longest * (len(group) + 1) > self.max_prefill_tokens:
                self._admit_group(group)
                group = []
            group.append(row)
        if group:
            self._admit_group(group)

    def _admit_group(self, rows: list[_Row]) -> None:
        try:
            fresh = self._prefill(rows)
        except Exception as ex:  # noqa: BLE001  the group's requests get the error, others go on
            for row in rows:
                _settle(row.future, exception=_explain(ex))
            return
        if fresh is None:
            return
        if self.slot_decoding:
            assert self._decoder is not None
            slots = self._decoder.load(fresh.cache, fresh.mask, fresh.next_tokens)
            self._slot_rows.update(zip(slots, fresh.rows, strict=False))
            return
        self._batch = fresh if self._batch is None else self._merge(self._batch, fresh)

    def _forward(
        self,
        input_ids: torch.Tensor,
        mask: torch.Tensor,
        positions: torch.Tensor,
        cache: Any,
        last_only: bool,
    ) -> torch.Tensor:
        kwargs: dict[str, Any] = {self._cache_kw: cache}
        if last_only and self._keep_kw:
            kwargs["logits_to_keep"] = 1
        out = self.model(
            input_ids=input_ids,
            attention_mask=mask,
            position_ids=positions,
            use_cache=True,
            **kwargs,
        )
        return out.logits[:, -1, :]

    def _prefill(self, rows: list[_Row]) -> _Batch | None:
        now = time.monotonic()
        width = max(len(r.request.prompt) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            prompt = row.request.prompt
            ids[i, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[i, width - len(prompt) :] = 1
            row.started = now
            if not row.request.greedy:
                row.generator = _generator(self.device, row.request.seed)
        ids, mask = ids.to(self.device), mask.to(self.device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = _new_cache(self.model.config)
        logits = self._forward(ids, mask, positions, cache, last_only=True)
        self.stats.prefills += 1
        if self._mergeable is None:
            self._mergeable = _plain_layers(cache) is not None
        batch = _Batch(
            cache=cache,
            mask=mask,
            next_tokens=self._choose(logits, rows),
            positions=mask.sum(-1),
            rows=rows,
        )
        recorded = self._record(batch)
        self.stats.prefill_seconds += time.monotonic() - now
        return recorded

    def _step(self) -> None:
        batch = self._batch
        assert batch is not None
        started = time.monotonic()
        self._step_count += 1
        batch.mask = torch.cat([batch.mask, batch.mask.new_ones((batch.mask.shape[0], 1))], dim=1)
        logits = self._forward(
            batch.next_tokens[:, None],
            batch.mask,
            batch.positions[:, None],
            batch.cache,
            last_only=False,
        )
        batch.positions = batch.positions + 1
        batch.next_tokens = self._choose(logits, batch.rows)
        self._batch = self._record(batch)
        self.stats.steps += 1
        self.stats.step_seconds += time.monotonic() - started

    def _slot_step(self) -> None:
        decoder = self._decoder
        assert decoder is not None
        started = time.monotonic()
        self._step_count += 1
        # the token fed now sits at position prompt + tokens - 1
        needed = max(len(r.request.prompt) + len(r.tokens) for r in self._slot_rows.values())
        replays = decoder.replays
        logits = decoder.step(needed)
        tokens = decoder.chosen.tolist()
        size = len(self._slot_rows)
        self.largest_batch = max(self.largest_batch, size)
        for slot, row in list(self._slot_rows.items()):
            token = tokens[slot]
            if not row.request.greedy:
                token = self._sample(logits[slot], row)
                decoder.set_next(slot, token)
            finish = self._advance(row, token, size)
            if finish is not None:
                decoder.release(slot)
                del self._slot_rows[slot]
        self.stats.steps += 1
        self.stats.graph_replays += decoder.replays - replays
        self.stats.step_seconds += time.monotonic() - started

    def _choose(self, logits: torch.Tensor, rows: list[_Row]) -> torch.Tensor:
        chosen = logits.argmax(dim=-1)
        for i, row in enumerate(rows):
            if not row.request.greedy:
                chosen[i] = self._sample(logits[i], row)
        return chosen

    def _sample(self, logits: torch.Tensor, row: _Row) -> int:
        """One token drawn for ``row`` with its temperature, top-k, top-p and generator."""
        request = row.request
        scores = logits.float() / request.temperature
        if request.top_k:
            kth = torch.topk(scores, min(request.top_k, scores.shape[-1])).values[-1]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if request.top_p is not None and request.top_p < 1.0:
            ordered, order = torch.sort(scores, descending=True)
            probs = torch.softmax(ordered, dim=-1)
            # drop a token once the more likely ones already hold top_p of the mass
            drop_sorted = probs.cumsum(-1) - probs >= request.top_p
            drop = torch.zeros_like(drop_sorted).scatter(0, order, drop_sorted)
            scores = scores.masked_fill(drop, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, 1, generator=row.generator)[0])

    def _record(self, batch: _Batch) -> _Batch | None:
        """Append each row's new token; answer finished rows and drop them from the batch."""
        tokens = batch.next_tokens.tolist()
        size = len(batch.rows)
        self.largest_batch = max(self.largest_batch, size)
        keep = [
            i
            for i, (row, token) in enumerate(zip(batch.rows, tokens, strict=False))
            if self._advance(row, token, size) is None
        ]
        if not keep:
            return None
        if len(keep) < size:
            self._select(batch, keep)
        return batch

    def _advance(self, row: _Row, token: int, size: int) -> FinishReason | None:
        """Add ``token`` to ``row``; when that ends it, answer its future and say why."""
        row.max_batch = max(row.max_batch, size)
        request = row.request
        finish: FinishReason | None = None
        if row.future.cancelled():
            return "cancelled"
        if token in self.eos_ids:
            finish = "eos"
        else:
            row.tokens.append(token)
            if len(row.tokens) >= request.max_new_tokens:
                finish = "length"
            elif request.stop and self._stopped(row):
                finish = "stop"
        if finish is not None:
            _settle(
                row.future,
                GenerationResult(
                    list(row.tokens), finish, row.max_batch, time.monotonic() - row.started
                ),
            )
        return finish

    def _stopped(self, row: _Row) -> bool:
        window = max(len(s) for s in row.request.stop) + 4
        text = self.decode(row.tokens[-window:])
        return any(s in text for s in row.request.stop)

    def _select(self, batch: _Batch, keep: list[int]) -> None:
        index = torch.tensor(keep, device=self.device)
        batch.cache.batch_select_indices(index)
        batch.mask = batch.mask[index]
        batch.next_tokens = batch.next_tokens[index]
        batch.positions = batch.positions[index]
        batch.rows = [batch.rows[i] for i in keep]
        layers = _plain_layers(batch.cache)
        if layers is None:
            return
        # columns that are padding in every remaining row cost attention time for nothing
        first = int(batch.mask.any(dim=0).int().argmax())
        if first > 0:
            for layer in layers:
                layer.keys = layer.keys[:, :, first:]
                layer.values = layer.values[:, :, first:]
            batch.mask = batch.mask[:, first:]

    def _merge(self, running: _Batch, fresh: _Batch) -> _Batch:
        self.stats.merges += 1
        a_layers, b_layers = _plain_layers(running.cache), _plain_layers(fresh.cache)
        assert a_layers is not None and b_layers is not None
        width = max(running.mask.shape[1], fresh.mask.shape[1])

        def pad(t: torch.Tensor, to: int) -> torch.Tensor:
            missing = to - t.shape[-2]
            if missing == 0:
                return t
            shape = (*t.shape[:-2], missing, t.shape[-1])
            return torch.cat([t.new_zeros(shape), t], dim=-2)

        for a, b in zip(a_layers, b_layers, strict=False):
            a.keys = torch.cat([pad(a.keys, width), pad(b.keys, width)], dim=0)
            a.values = torch.cat([pad(a.values, width), pad(b.values, width)], dim=0)

        def pad_mask(m: torch.Tensor) -> torch.Tensor:
            return torch.cat([m.new_zeros((m.shape[0], width - m.shape[1])), m], dim=1)

        running.mask = torch.cat([pad_mask(running.mask), pad_mask(fresh.mask)], dim=0)
        running.next_tokens = torch.cat([running.next_tokens, fresh.next_tokens])
        running.positions = torch.cat([running.positions, fresh.positions])
        running.rows = running.rows + fresh.rows
        return running

    def _fail_batch(self, ex: Exception) -> None:
        batch, self._batch = self._batch, None
        rows = (batch.rows if batch else []) + list(self._slot_rows.values())
        self._slot_rows.clear()
        self._decoder = None
        for row in rows:
            _settle(row.future, exception=_explain(ex))

    def _fail_all(self, ex: Exception) -> None:
        self._fail_batch(ex)
        with self._cv:
            pending, self._pending = list(self._pending), deque()
        for row in pending:
            _settle(row.future, exception=ex)


def _generator(device: torch.device, seed: int | None) -> torch.Generator:
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    return generator


def _settle(
    future: concurrent.futures.Future[GenerationResult],
    result: GenerationResult | None = None,
    exception: BaseException | None = None,
) -> None:
    if future.done():
        return
    try:
        if exception is not None:
            future.set_exception(exception)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except concurrent.futures.InvalidStateError:
        pass  # cancelled by its caller in the meantime


def _explain(ex: Exception) -> Exception:
    if isinstance(ex, torch.cuda.OutOfMemoryError):
        from ._errors import ModelError

        return ModelError(
            f"the GPU ran out of memory while decoding ({ex}). Pass a smaller -M batch_size= "
            "or a lower max_tokens."
        )
    return ex
