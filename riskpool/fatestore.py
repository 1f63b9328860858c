"""Fates once, ledger many: sampled blocks of fates kept for reruns that change only the rules.

A block's fates depend only on the seed, the block, its number of paths, the importance-sampling
shift and the parts of the structure that ``fates.sample_block`` reads (docs/model.md section
2.6): credit, collateral, lending, products, the banks' lending shares and the horizon. A rerun
that changes only funds, top-ups, sharing, caps, rules, parties, layers or the banks' deposits and
rules finds its blocks here instead of sampling them again; the ledger reads fates and never
changes them, so the results are bit for bit those of a fresh run.

A store is an object the caller holds (the web app for its session, ``size`` for one search);
nothing is kept between calls otherwise. It holds at most ``max_bytes`` of fates, dropping the
blocks used least recently first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mmap
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .fates import Fates, sample_block
from .structure import Structure

DEFAULT_MAX_BYTES = 2 * 2**30
# where a forked worker hands its sampled fates to the caller: memory-backed files where there are
# (each made by mkstemp: an unpredictable name, readable by its owner only, removed once mapped)
MEMORY_FOLDER = Path("/dev/shm")  # nosec B108
SHARED_FOLDER = MEMORY_FOLDER if MEMORY_FOLDER.is_dir() else Path(tempfile.gettempdir())
# the structure's fields that sample_block reads, in a fixed order (docs/model.md section 2.6)
FATE_FIELDS = ("horizon_months", "risk_class", "class_pd", "class_city", "initial_loans", "monthly_rate", "size_mean",
               "size_cv", "tenor", "rho", "rho_city", "n_cities", "recovery_mean", "recovery_sd", "recovery_loading",
               "disposal_mean", "disposal_sd", "p_no_sale", "recovery_floor", "product_share", "product_first")
REGISTER_FIELDS = ("county", "size", "bank", "term", "since", "defaulted", "recovered")  # not `paid`: the ledger's


def fates_key(st: Structure) -> str:
    """A digest of everything in ``st`` that shapes the fates (not the rules)."""
    digest = hashlib.sha256()
    for name in FATE_FIELDS:
        _add(digest, name, getattr(st, name))
    _add(digest, "bank_share", st.banks.county_share)
    if st.book is not None:  # a register fixes sizes, banks, terms and shifts delays (section 4.8)
        for name in REGISTER_FIELDS:
            _add(digest, f"book.{name}", getattr(st.book, name))
    return digest.hexdigest()


def _add(digest, name: str, value) -> None:
    array = np.ascontiguousarray(value)
    digest.update(f"{name}:{array.dtype.str}:{array.shape}:".encode())
    digest.update(array.tobytes())


def fates_bytes(fates: Fates) -> int:
    return sum(v.nbytes for v in vars(fates).values() if isinstance(v, np.ndarray))


class FateStore:
    """Blocks of sampled fates by (fates key, seed, block, paths, shift), least recently used dropped first."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self._blocks: OrderedDict[tuple, Fates] = OrderedDict()
        self._lock = threading.Lock()  # the web app's sessions share one store, from their own threads
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        # a forked worker records the blocks it puts here, to send them back to the caller's store
        self.added: list[tuple[tuple, Fates]] | None = None

    def key(self, st: Structure, seed: int, block: int, n_paths: int, shift: np.ndarray | None) -> tuple:
        return (fates_key(st), seed, block, n_paths, None if shift is None else np.asarray(shift).tobytes())

    def get(self, key: tuple) -> Fates | None:
        with self._lock:
            fates = self._blocks.get(key)
            if fates is None:
                self.misses += 1
                return None
            self.hits += 1
            self._blocks.move_to_end(key)
            return fates

    def put(self, key: tuple, fates: Fates) -> None:
        size = fates_bytes(fates)
        with self._lock:
            if key in self._blocks or size > self.max_bytes:
                return
            self._blocks[key] = fates
            self._bytes += size
            if self.added is not None:
                self.added.append((key, fates))
            while self._bytes > self.max_bytes:
                _, dropped = self._blocks.popitem(last=False)
                self._bytes -= fates_bytes(dropped)

    def sample(self, st: Structure, seed: int, block: int, n_paths: int, shift: np.ndarray | None = None) -> Fates:
        """The block's fates, from the store or sampled (and kept)."""
        key = self.key(st, seed, block, n_paths, shift)
        fates = self.get(key)
        if fates is None:
            fates = sample_block(st, seed, block, n_paths, shift)
            self.put(key, fates)
        return fates

    def __len__(self) -> int:
        return len(self._blocks)

    @property
    def nbytes(self) -> int:
        return self._bytes


def hand_over(fates: Fates) -> tuple[str, list] | None:
    """Write a block's arrays into one file (memory-backed where possible) for another process;
    returns its path and layout for :func:`take_over`, or None when there is no room (the block is
    then sampled again when needed). Far cheaper than pickling them through a pipe."""
    fd, path = tempfile.mkstemp(prefix="riskpool-fates-", dir=SHARED_FOLDER)
    layout, offset = [], 0
    try:
        with os.fdopen(fd, "wb") as out:
            for f in dataclasses.fields(fates):
                value = getattr(fates, f.name)
                if value is None:
                    layout.append((f.name, None, None, None))
                    continue
                array = np.ascontiguousarray(value)
                layout.append((f.name, array.dtype.str, array.shape, offset))
                out.write(array.tobytes())
                offset += array.nbytes
    except OSError:  # a small /dev/shm (containers often have 64 MiB) is full
        os.unlink(path)
        return None
    return path, layout


def take_over(path: str, layout: list) -> Fates:
    """The fates :func:`hand_over` wrote, mapped read-only into this process; the file is removed at
    once (the mapping keeps its pages until the arrays are dropped)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buffer = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ) if size else b""
    finally:
        os.unlink(path)
    arrays = {name: None if dtype is None else np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape)),
                                                               offset=offset).reshape(shape)
              for name, dtype, shape, offset in layout}
    return Fates(**arrays)
