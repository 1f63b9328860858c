"""Where a sweep's tasks run: this process, local worker processes, or a Dask cluster.

Every backend yields ``(task index, result)`` as tasks finish; callers put results in place by
index, so the order of completion never changes a number.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..scenario import NO_VALUE, Problem, ScenarioError

log = logging.getLogger(__name__)
NO_WORKER_WAIT = 3.0  # seconds to wait for a scheduler's first worker before warning that it has none
Task = tuple[Any, ...]
Progress = Callable[[int, int], None]  # (done, total), called as tasks finish


@dataclass
class Backend:
    """Runs ``fn(*args)`` for each task and yields ``(index, result)`` as they finish."""

    name: str
    submit_all: Callable[[Callable, Sequence[Task]], Iterator[tuple[int, Any]]]
    workers: int

    def map_unordered(self, fn: Callable, tasks: Sequence[Task]) -> Iterator[tuple[int, Any]]:
        return self.submit_all(fn, tasks)


def _serial(fn: Callable, tasks: Sequence[Task]) -> Iterator[tuple[int, Any]]:
    for i, args in enumerate(tasks):
        yield i, fn(*args)


def check_choice(workers: int = 1, dask_local: int | None = None, scheduler: str | None = None) -> None:
    """At most one of ``--workers N>1``, ``--dask-local`` and ``--scheduler``."""
    chosen = [name for name, on in (("workers", workers > 1), ("dask_local", dask_local), ("scheduler", scheduler)) if on]
    if len(chosen) > 1:
        raise ScenarioError([Problem("/".join(chosen), NO_VALUE, "choose one way to run: local workers, a Dask LocalCluster or a scheduler")])


@contextmanager
def open_backend(workers: int = 1, dask_local: int | None = None, scheduler: str | None = None):
    """The backend the command line asked for: ``--workers``, ``--dask-local`` or ``--scheduler``."""
    check_choice(workers, dask_local, scheduler)
    if scheduler or dask_local:
        with _dask(dask_local, scheduler) as backend:
            yield backend
    elif workers > 1:
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            def submit_all(fn: Callable, tasks: Sequence[Task]) -> Iterator[tuple[int, Any]]:
                futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
                for future in as_completed(futures):
                    yield futures[future], future.result()

            yield Backend("processes", submit_all, workers)
    else:
        yield Backend("serial", _serial, 1)


@contextmanager
def _dask(n_workers: int | None, address: str | None):
    from dask.distributed import Client, LocalCluster
    from dask.distributed import as_completed as dask_completed

    cluster = None
    if address:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ScenarioError([Problem("scheduler", address, f"no Dask scheduler answers there ({type(exc).__name__})")]) from None
        _wait_for_a_worker(client, address)
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    log.info("Dask: %s; dashboard %s", address or f"a LocalCluster of {n_workers or 'default'} workers",
             _dashboard(client) or "not served (the scheduler needs bokeh for one)")
    try:
        def submit_all(fn: Callable, tasks: Sequence[Task]) -> Iterator[tuple[int, Any]]:
            futures = [client.submit(fn, *args, pure=False) for args in tasks]
            index = {f.key: i for i, f in enumerate(futures)}
            for future in dask_completed(futures):
                yield index[future.key], future.result()

        workers = len(client.scheduler_info().get("workers", {})) or (n_workers or 1)
        yield Backend("dask", submit_all, workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _wait_for_a_worker(client: Any, address: str) -> None:
    """Warn (within seconds, not after a silent hang) when the scheduler has no worker yet."""
    if client.scheduler_info().get("workers"):
        return
    try:
        client.wait_for_workers(1, timeout=NO_WORKER_WAIT)
    except TimeoutError:
        log.warning("warning: the Dask scheduler at %s has no workers; tasks wait until one connects "
                    "(start one with: dask worker %s)", address, address)


def _dashboard(client: Any) -> str | None:
    """The scheduler's dashboard address, if it serves one."""
    services = client.scheduler_info().get("services", {})
    return client.dashboard_link if "dashboard" in services else None
