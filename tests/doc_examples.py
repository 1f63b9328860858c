"""The shell examples of the docs, as tests/test_docs.py runs them.

Two kinds of fenced block are run; others (no info string, ``text``) show syntax or output only:

- ``sh``: a script, run with ``bash -e -o pipefail``; it must exit 0.
- ``console``: a transcript; each ``$ command`` is run on its own and must exit 2 when the
  output shown after it starts with ``error:``, else 0. The output itself is not compared: the
  tests run smaller sizes than the docs show.

The examples are written at the sizes a user would run (2,000 paths, 20 x 20 grids). The tests run
the same commands through a ``riskpool`` wrapper placed first on PATH that caps ``--paths``,
``--samples`` and grid counts per command (CAPS), so that the set finishes in a few minutes.
What is checked is that every documented command still exists, accepts its options and values,
and exits as the docs say.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

CAPS = {  # command: {option: largest value run}; run, verify and trace keep the reference's 2,000 paths
    "run": {"--paths": 2000},
    "sweep": {"--paths": 200},
    "size": {"--paths": 200},
    "sensitivity": {"--paths": 100, "--samples": 4},
}
GRID_COUNT = 3
_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Example:
    script: str
    exit_code: int


def examples(markdown: str) -> list[Example]:
    """The runnable examples of a document, in order."""
    found: list[Example] = []
    for match in _FENCE.finditer(markdown):
        info, body = match["info"].strip(), match["body"]
        if info == "sh":
            found.append(Example(body, 0))
        elif info == "console":
            found += _transcript(body)
    return found


def _transcript(body: str) -> list[Example]:
    lines = body.replace("\\\n", " ").splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.startswith("$ "):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            found.append(Example(line[2:], 2 if following.startswith("error:") else 0))
    return found


def capped(argv: list[str]) -> list[str]:
    """``argv`` with the CAPS of its command applied (added where the option is absent, since the
    defaults can be larger), and every --grid COUNT at most GRID_COUNT."""
    caps = CAPS.get(argv[0], {}) if argv else {}
    out = list(argv) + [item for option, cap in caps.items() if option not in argv for item in (option, str(cap))]
    for i, arg in enumerate(out[:-1]):
        value = out[i + 1]
        if arg in caps and value.isdigit():
            out[i + 1] = str(min(int(value), caps[arg]))
        elif arg == "--grid" and value.count(":") == 2:
            head, count = value.rsplit(":", 1)
            if count.isdigit():
                out[i + 1] = f"{head}:{min(int(count), GRID_COUNT)}"
    return out


def write_wrapper(folder: Path) -> Path:
    """An executable ``riskpool`` in ``folder`` that runs the real CLI on capped arguments."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "riskpool"
    here = Path(__file__).resolve().parent
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(here)!r})\n"
        "from doc_examples import capped\n"
        "from riskpool.cli import main\n"
        "sys.exit(main(capped(sys.argv[1:])))\n",
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return wrapper
