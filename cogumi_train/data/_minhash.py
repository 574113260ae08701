"""Normalised text, its exact-duplicate key, and MinHash signatures for a batch at once.

The signatures are datasketch's: the permutations are ``MinHash(num_perm, seed).permutations``
and the scheme is its ``affine32`` (input hash pre-mixed by the MurmurHash3 finalizer,
then ``a * h + b mod 2**32``), so a row here equals ``MinHash.update_batch`` of the same
shingle hashes (``tests/train/test_data_dedup.py`` checks it), and
``LeanMinHash(seed=1, hashvalues=row, scheme="affine32")`` goes into any datasketch index.

What is our own is how the shingle hashes are made and permuted: for a whole batch of
documents in a few numpy passes instead of one Python call per shingle, because
``benchmarks/dedup.py`` measured datasketch's own batch constructor, ``MinHash.bulk`` (SHA-1
per shingle), at several times the CPU time of this, and its per-shingle ``update`` loop at
more than ten times.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
from datasketch import MinHash

_WORD = re.compile(r"\w+")
_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
# odd multipliers that combine the word hashes of a shingle (order matters)
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)
_BASE = np.uint64(0x100000001B3)  # odd, so invertible mod 2**64


def normalise(text: str) -> str:
    """The words of ``text``, case-folded, one space apart: what duplicates are compared on.

    Two records are exact duplicates when this is equal: the same words in the same order,
    whatever their case, punctuation and spacing.
    """
    return " ".join(_WORD.findall(text.casefold()))


def exact_key(normalised: str) -> int:
    """A 64-bit hash of the normalised text (a chance collision in 10M records: ~3e-6)."""
    digest = hashlib.blake2b(normalised.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def _fmix32(h: np.ndarray) -> np.ndarray:
    # datasketch's affine32 pre-mix (MurmurHash3's 32-bit finalizer)
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


class MinHasher:
    """MinHash signatures of word n-gram shingles, ``num_perm`` values per document.

    Args:
        num_perm: permutations (signature length); datasketch's default 128.
        ngram: words per shingle; a document shorter than this is one shingle of all its words.
        seed: datasketch's permutation seed; signatures of different seeds are not comparable.
    """

    def __init__(self, num_perm: int = 128, ngram: int = 3, seed: int = 1) -> None:
        if ngram < 1 or ngram > len(_MIX):
            raise ValueError(f"ngram must be 1..{len(_MIX)}, got {ngram}")
        self.num_perm, self.ngram, self.seed = num_perm, ngram, seed
        a, b = MinHash(num_perm=num_perm, seed=seed).permutations
        self._a = np.asarray(a, dtype=np.uint32)
        self._b = np.asarray(b, dtype=np.uint32)
        self._power = self._inverse = np.empty(0, dtype=np.uint64)

    def shingle_hashes(self, normalised: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """32-bit hashes of every document's shingles, and where each document's run starts.

        Each document must have at least one word. A word's hash is a polynomial hash of
        its UTF-8 bytes computed for the whole batch from one prefix sum (wrapping mod 2**64).
        """
        joined = ("\n".join(normalised) + "\n").encode("utf-8")
        buf = np.frombuffer(joined, dtype=np.uint8)
        n = len(buf)
        powers, inverse = self._powers(n)
        with np.errstate(over="ignore"):
            prefix = np.zeros(n + 1, dtype=np.uint64)
            np.cumsum((buf.astype(np.uint64) + np.uint64(1)) * powers[:n], out=prefix[1:])
            ends = np.flatnonzero((buf == 32) | (buf == 10))
            starts = np.empty_like(ends)
            starts[0] = 0
            starts[1:] = ends[:-1] + 1
            length = (ends - starts).astype(np.uint64)
            words = _fmix64((prefix[ends] - prefix[starts]) * inverse[starts] + length)
        newline = buf[ends] == 10
        doc_of_word = np.concatenate(([0], np.cumsum(newline[:-1])))
        counts = np.bincount(doc_of_word, minlength=len(normalised))
        word_starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return self._shingles(words, counts, word_starts)

    def _powers(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``_BASE ** i`` and ``_BASE ** -i`` mod 2**64 for ``i < n``, kept for the next batch."""
        if len(self._power) < n:
            size = max(n, 2 * len(self._power))
            with np.errstate(over="ignore"):
                self._power = np.cumprod(_filled(size, _BASE))
                self._inverse = np.cumprod(_filled(size, np.uint64(pow(int(_BASE), -1, 1 << 64))))
        return self._power, self._inverse

    def _shingles(
        self, words: np.ndarray, counts: np.ndarray, word_starts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        k = self.ngram
        per_doc = np.maximum(counts - k + 1, 1)
        offsets = np.concatenate(([0], np.cumsum(per_doc)[:-1]))
        first = np.repeat(word_starts, per_doc) + (
            np.arange(int(per_doc.sum())) - np.repeat(offsets, per_doc)
        )
        length = np.repeat(counts, per_doc)
        last = len(words) - 1
        with np.errstate(over="ignore"):
            combined = np.zeros(len(first), dtype=np.uint64)
            for j in range(k):
                # a document shorter than k words is one shingle of all its words
                present = length > j
                combined += np.where(present, words[np.minimum(first + j, last)], 0) * _MIX[j]
            hashes32 = (_fmix64(combined) >> np.uint64(32)).astype(np.uint32)
        return hashes32, offsets

    def signatures(self, normalised: list[str]) -> np.ndarray:
        """``(len(normalised), num_perm)`` uint32 MinHash values; every text needs a word."""
        hashes, offsets = self.shingle_hashes(normalised)
        return self.permute(hashes, offsets)

    def band_keys(self, sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
        """``(len(sigs), bands)`` 64-bit keys of LSH bands: band ``i`` is the values
        ``sigs[:, i*rows:(i+1)*rows]``; equal bands give equal keys, and the band's index
        is mixed in, so equal values in two different bands do not collide."""
        out = np.empty((len(sigs), bands), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for i in range(bands):
                h = np.full(len(sigs), np.uint64(i + 1) * _MIX[0], dtype=np.uint64)
                for j in range(i * rows, (i + 1) * rows):
                    h = (h ^ sigs[:, j].astype(np.uint64)) * _MIX[1]
                out[:, i] = _fmix64(h)
        return out

    def permute(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        out = np.empty((len(offsets), self.num_perm), dtype=np.uint32)
        with np.errstate(over="ignore"):
            mixed = _fmix32(hashes)
            # one permutation at a time keeps the working vector in cache
            for k in range(self.num_perm):
                out[:, k] = np.minimum.reduceat(mixed * self._a[k] + self._b[k], offsets)
        return out


def _filled(size: int, value: np.uint64) -> np.ndarray:
    """``[1, value, value, ...]``: its cumulative product is the powers of ``value``."""
    out = np.full(size, value, dtype=np.uint64)
    out[0] = 1
    return out
