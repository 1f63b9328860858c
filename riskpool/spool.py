"""Per-path results of a large run, kept on disk instead of in memory.

A run keeps every path's results until the end, because the figures it reports are exact
quantiles over all paths. Above a size (``engine.simulate`` decides, from ``limits``), the
results go to files in column-major order, each figure of each fund (or month of a fund's
balance) one contiguous run of paths:

- ``paths``: (path figure, path); ``nodes``: (node figure, node, path);
- ``counties``: (county figure, county, path); ``balance``: (node, month, path);
- ``budget``: (year, tier slot, path); ``banks``: (bank figure, bank, path), empty without banks.

Blocks are written with ``os.pwrite`` at their paths' offsets (forked workers write their own
blocks into the same files) and read back one figure at a time with ``os.pread``, so memory
holds one figure of all paths (8 bytes a path), never the whole table. Nothing is mapped into
memory, so the page cache that the files pass through stays the kernel's to reclaim.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

KINDS = ("paths", "nodes", "counties", "balance", "budget", "banks")
SPOOL_PREFIX = ".spool.tmp-"
ITEM = 8  # float64


class Spool:
    """Column-major float64 files holding the per-path results of one run."""

    def __init__(self, folder: Path, n_paths: int, shapes: dict[str, tuple[int, ...]]):
        """``shapes``: per kind, the leading dimensions before the path axis (see the module doc)."""
        # the writer's process id ends the name, so that a later run can delete a killed run's spool
        self.folder = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, suffix=f"-{os.getpid()}", dir=folder))
        self.n_paths = n_paths
        self.shapes = shapes
        self.fds: dict[str, int] = {}
        for kind in KINDS:
            fd = os.open(self.folder / kind, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.ftruncate(fd, int(np.prod(shapes[kind])) * n_paths * ITEM)  # sparse until written
            self.fds[kind] = fd
        # deleted when closed, or else when the run's results are garbage-collected
        self._finalizer = weakref.finalize(self, _remove, dict(self.fds), self.folder)

    def write(self, kind: str, first_path: int, block: np.ndarray) -> None:
        """Write ``block`` (paths first, then the kind's leading dimensions) at path ``first_path``."""
        columns = np.ascontiguousarray(np.moveaxis(block, 0, -1)).reshape(-1, len(block))
        for i, column in enumerate(columns):
            os.pwrite(self.fds[kind], column.tobytes(), (i * self.n_paths + first_path) * ITEM)

    def read(self, kind: str, index: tuple[int, ...], rows: slice = slice(None), count: int = 1) -> np.ndarray:
        """``count`` consecutive leading entries from ``index`` on (e.g. months of one node's
        balance), each over the paths of ``rows``: shape (count, paths), or (paths,) for 1."""
        start, stop, _ = rows.indices(self.n_paths)
        flat = int(np.ravel_multi_index(index, self.shapes[kind]))
        if start == 0 and stop == self.n_paths:  # whole columns are consecutive: one read
            out = self._pread(kind, flat * self.n_paths, count * self.n_paths).reshape(count, self.n_paths)
        else:
            out = np.stack([self._pread(kind, (flat + k) * self.n_paths + start, stop - start) for k in range(count)])
        return out[0] if count == 1 else out

    def _pread(self, kind: str, offset: int, n: int) -> np.ndarray:
        data = os.pread(self.fds[kind], n * ITEM, offset * ITEM)
        if len(data) != n * ITEM:
            raise OSError(f"short read from the spool file {self.folder / kind}")
        return np.frombuffer(data, dtype=np.float64).copy()

    def close(self) -> None:
        """Close and delete the files."""
        self._finalizer()
        self.fds.clear()


def _remove(fds: dict[str, int], folder: Path) -> None:
    for fd in fds.values():
        os.close(fd)
    shutil.rmtree(folder, ignore_errors=True)


def remove_stale(folder: Path) -> None:
    """Delete the spools that killed runs left in ``folder`` (their writer no longer exists)."""
    for spool in folder.glob(f"{SPOOL_PREFIX}*"):
        pid = spool.name.rpartition("-")[2]
        if spool.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(spool, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on POSIX; elsewhere it is assumed to)."""
    if os.name != "posix":  # on Windows os.kill(pid, 0) would terminate the process
        return True
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        pass
    return True
