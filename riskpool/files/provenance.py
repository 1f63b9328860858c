"""Which code made a result: the installed version, its git commit and a digest of its source.

The version and commit are written into ``riskpool/_version.py`` by setuptools-scm when the
package is built (``pip install .``). When riskpool runs from a git checkout, the checkout's
own HEAD and state are read instead, because a file written at the last install can lag behind
later commits and edits. Neither says exactly what code ran when the tree had uncommitted
changes, so every result also records ``code_sha256``: one SHA-256 over the package's own files
(sources, bundled scenarios, templates), which names the code whatever git knows of it.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
UNKNOWN_VERSION = "0+unknown"
# what the digest leaves out: written at build time (it holds the version) or by Python
NOT_CODE = {"_version.py"}
CODE_SUFFIXES = {".py", ".toml", ".css", ".html", ".json", ".txt"}

try:
    from .._version import __commit__ as _BUILT_COMMIT
    from .._version import __dirty__ as _BUILT_DIRTY
    from .._version import __version__ as _BUILT_VERSION
except ImportError:  # a source tree that was never built: no version file
    _BUILT_VERSION, _BUILT_COMMIT, _BUILT_DIRTY = UNKNOWN_VERSION, None, None

__version__: str = _BUILT_VERSION


@dataclass(frozen=True)
class Code:
    """The identity of the running riskpool."""

    version: str
    commit: str | None  # git commit (full from a checkout, abbreviated from a build), None if unknown
    dirty: bool | None  # uncommitted changes in the tree it came from; None if unknown
    sha256: str  # digest of the package's files (``code_digest``)

    def manifest(self) -> dict[str, object]:
        """The manifest's provenance keys."""
        return {"riskpool_version": self.version, "git_commit": self.commit, "git_dirty": self.dirty,
                "code_sha256": self.sha256}


@lru_cache(maxsize=1)
def running_code() -> Code:
    """The running riskpool's version, commit, dirty flag and code digest (computed once)."""
    live = _checkout_state()
    commit, dirty = live if live is not None else (_built_commit(), _BUILT_DIRTY)
    return Code(__version__, commit, dirty, code_digest())


def code_digest(package: Path = PACKAGE) -> str:
    """SHA-256 over the package's files, each as its relative path, a NUL, its bytes, a NUL."""
    digest = hashlib.sha256()
    for path in sorted(p for p in package.rglob("*") if _is_code(p, package)):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _is_code(path: Path, package: Path) -> bool:
    parts = path.relative_to(package).parts
    return (path.is_file() and path.suffix in CODE_SUFFIXES and path.name not in NOT_CODE
            and not any(p == "__pycache__" or p.startswith(".") for p in parts))


def _built_commit() -> str | None:
    """setuptools-scm's node id ``g<abbreviated hash>`` as the hash alone."""
    node = _BUILT_COMMIT
    return node[1:] if isinstance(node, str) and node.startswith("g") else node


def _checkout_state() -> tuple[str, bool] | None:
    """(HEAD, whether the package has uncommitted changes) if riskpool runs from a git checkout
    of its own; None when installed elsewhere (site-packages) or git is not available."""
    root = PACKAGE.parent
    if not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return None
    head = _git(root, "rev-parse", "HEAD")
    status = _git(root, "status", "--porcelain", "--", PACKAGE.name)
    if head is None or status is None:
        return None
    return head.strip(), bool(status.strip())


def _git(root: Path, *args: str) -> str | None:
    try:
        # fixed arguments, no shell; git is looked up on PATH as the user's own shell would
        done = subprocess.run(  # nosec B603 B607
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def same_commit(a: str | None, b: str | None) -> bool:
    """Whether two commit ids name the same commit (one may be abbreviated)."""
    if not a or not b:
        return False
    return a.startswith(b) or b.startswith(a)
