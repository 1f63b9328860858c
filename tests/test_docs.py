"""The docs' examples run, so that they cannot go stale (tests/doc_examples.py says how).

Python examples (``>>>``) in docs and in riskpool.present.formats and riskpool.present.labels run as
doctests; shell examples in ```sh and ```console blocks run with bash, one after another in one working
folder per document, with copies of reports/, scenarios/ and examples/ beside them (the auditing guide verifies
the reference run).
"""

from __future__ import annotations

import doctest
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from doc_examples import capped, examples, write_wrapper

import riskpool.present.formats
import riskpool.present.labels

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
WITH_EXAMPLES = [d for d in DOCUMENTS if examples(d.read_text(encoding="utf-8"))]
BLOCK_SECONDS = 300


def test_capping_keeps_every_option_and_lowers_only_sizes():
    argv = ["sweep", "--grid", "credit.annual_pd=0.005:0.15:20", "--paths", "2000", "--seed", "7"]
    assert capped(argv) == ["sweep", "--grid", "credit.annual_pd=0.005:0.15:3", "--paths", "200", "--seed", "7"]
    assert capped(["run", "--paths", "2000"]) == ["run", "--paths", "2000"]
    assert capped(["sensitivity", "--samples", "64"]) == ["sensitivity", "--samples", "4", "--paths", "100"]
    assert capped(["size", "--target", "0.95"]) == ["size", "--target", "0.95", "--paths", "200"]


def test_transcripts_expect_the_exit_status_their_output_shows():
    found = examples("```console\n$ riskpool run --set x=1\nerror: x: unknown key\n$ riskpool validate\nok\n```\n")
    assert [(e.script, e.exit_code) for e in found] == [("riskpool run --set x=1", 2), ("riskpool validate", 0)]


def test_every_command_is_shown_in_a_runnable_example():
    """Every command but `app`, which serves until stopped (tests/test_app_browser.py starts it)."""
    shown = "\n".join(e.script for d in WITH_EXAMPLES for e in examples(d.read_text(encoding="utf-8")))
    for command in ("validate", "run", "sweep", "verify", "trace", "size", "sensitivity", "report"):
        assert f"riskpool {command}" in shown, f"no ```sh or ```console example runs `riskpool {command}`"


@pytest.mark.parametrize("module", [riskpool.present.formats, riskpool.present.labels], ids=lambda m: m.__name__)
def test_module_doctests(module):
    failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


@pytest.mark.parametrize("document", [d for d in DOCUMENTS if ">>>" in d.read_text(encoding="utf-8")],
                         ids=lambda d: d.name)
def test_python_examples(document: Path):
    failures, _ = doctest.testfile(str(document), module_relative=False, optionflags=doctest.ELLIPSIS
                                   | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


@pytest.mark.parametrize("document", WITH_EXAMPLES, ids=lambda d: d.name)
def test_shell_examples(document: Path, tmp_path: Path):
    work = tmp_path / "work"
    shutil.copytree(ROOT / "reports", work / "reports")
    shutil.copytree(ROOT / "riskpool" / "scenarios", work / "scenarios")
    shutil.copytree(ROOT / "riskpool" / "examples", work / "examples", ignore=shutil.ignore_patterns("*.py"))
    wrapper = write_wrapper(tmp_path / "bin")
    env = {**os.environ, "PATH": f"{wrapper.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}", "COLUMNS": "120"}
    for example in examples(document.read_text(encoding="utf-8")):
        done = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", example.script], cwd=work, env=env,  # nosec B603 B607
                              capture_output=True, text=True, timeout=BLOCK_SECONDS, check=False)
        assert done.returncode == example.exit_code, (
            f"{document.name}: this example exited {done.returncode}, not {example.exit_code}:\n{example.script}\n"
            f"--- output ---\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
