"""The compiled copy of numpy's single-precision normal sampler draws numpy's numbers, bit for bit.

``fates.standard_normal_f32`` turns 32-bit words drawn by numpy into normals with a compiled
copy of numpy's ziggurat (``random_standard_normal_f``), so that loan sizes stay exactly those
of ``Generator.standard_normal(dtype=np.float32)``. These tests compare the two on many draws,
from generators left in either half of a 64-bit word, through the rare branches (the tail,
and running out of words in the middle of a normal).
"""

from __future__ import annotations

import numpy as np
import pytest

from riskpool.fates import _KI, _words, _ziggurat, standard_normal_f32


def bits(x: np.ndarray) -> np.ndarray:
    return x.view(np.uint32)


def twins(seed: int, odd: bool) -> tuple[np.random.Generator, np.random.Generator]:
    """Two generators in the same state; ``odd`` leaves half of a 64-bit word buffered."""
    pair = (np.random.default_rng(seed), np.random.default_rng(seed))
    for rng in pair:
        rng.random(seed % 7)
        if odd:
            rng.standard_normal(1, dtype=np.float32)
    return pair


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("odd", [False, True])
def test_same_normals_as_numpy(seed: int, odd: bool) -> None:
    ours, numpys = twins(seed, odd)
    n = 400_000 + 1_000 * seed
    np.testing.assert_array_equal(bits(standard_normal_f32(ours, n)), bits(numpys.standard_normal(n, dtype=np.float32)))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 1000])
def test_same_normals_for_short_runs(n: int) -> None:
    for seed in range(50):
        ours, numpys = twins(seed, seed % 2 == 1)
        np.testing.assert_array_equal(bits(standard_normal_f32(ours, n)), bits(numpys.standard_normal(n, dtype=np.float32)))


def test_the_tail_is_drawn() -> None:
    """Words of layer 0 outside its rectangle go to the tail branch: the draws above use it."""
    words = np.random.default_rng(0).integers(0, 2**32, size=400_000, dtype=np.uint32)
    tail = ((words & 0xFF) == 0) & (((words >> 9) & 0x7FFFFF) >= _KI[0])
    assert tail.sum() > 50


def test_resuming_after_the_words_run_out() -> None:
    """Fed a few words at a time, the sampler stops before an unfinished normal and resumes there."""
    for seed in range(100):
        ours, numpys = twins(seed, False)
        expected = numpys.standard_normal(500, dtype=np.float32)
        out = np.empty(500, dtype=np.float32)
        words = ours.integers(0, 2**32, size=5, dtype=np.uint32)
        done, used = _ziggurat(words, out, 0)
        while done < len(out):
            words = np.concatenate((words[used:], ours.integers(0, 2**32, size=3, dtype=np.uint32)))
            done, used = _ziggurat(words, out, done)
        np.testing.assert_array_equal(bits(out), bits(expected))


@pytest.mark.parametrize("n", [1, 2, 5, 1000, 4097])
def test_raw_words_continue_numpys_stream(n: int) -> None:
    """``_words`` draws at least ``n`` of numpy's words, and the next call carries on from there."""
    for seed in range(20):
        ours, numpys = twins(seed, False)
        first, second = _words(ours, n), _words(ours, 3)
        assert len(first) >= n
        expected = numpys.integers(0, 2**32, size=len(first) + len(second), dtype=np.uint32)
        np.testing.assert_array_equal(np.concatenate((first, second)), expected)
