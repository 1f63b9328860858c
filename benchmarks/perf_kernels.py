"""Where a baseline run spends its CPU time, down to the instructions of the compiled kernels.

Runs one baseline simulation in a child process under Linux ``perf record -e cpu-clock`` (a
software clock: it works on virtual machines without hardware counters) and keeps the samples
taken while ``simulate`` ran. numba's kernels have no symbols, so the child writes each kernel's
address and machine code; samples that fall inside a kernel are counted under its name, the
others under perf's symbol. ``--annotate KERNEL`` prints the kernel's hottest instructions with
their neighbours (the sample usually lands on the instruction after the one that stalled).

    python benchmarks/perf_kernels.py [--paths 10000] [--annotate ledger|place|ziggurat] [--top 25]

Needs ``perf`` and ``objdump`` (Debian: linux-perf, binutils) and kernel.perf_event_paranoid <= 2.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CODE_BYTES = 65536  # more than any kernel's machine code
CHILD = r"""
import ctypes, json, sys, time
from pathlib import Path
from riskpool import fates, ledger, scenario
from riskpool.engine import simulate
folder, paths = Path(sys.argv[1]), int(sys.argv[2])
s = scenario.load(None)
simulate(s, paths=250).release()  # load the kernels from numba's cache
start = time.monotonic()
simulate(s, paths=paths).release()
window = (start, time.monotonic())
kernels = {"ledger": ledger._ledger_block, "place": fates.place_loans, "ziggurat": fates._ziggurat,
           "hazard": fates._accumulate_hazard}
addresses = {}
for name, dispatcher in kernels.items():
    for result in dispatcher.overloads.values():
        addresses[name] = result.library.get_pointer_to_function(result.fndesc.llvm_func_name)
        (folder / f"{name}.bin").write_bytes(ctypes.string_at(addresses[name], %d))
(folder / "run.json").write_text(json.dumps({"window": window, "kernels": addresses}))
""" % CODE_BYTES


def samples(folder: Path) -> tuple[list[tuple[int, str]], dict]:
    """(instruction address, perf's symbol) of every sample taken while ``simulate`` ran."""
    run = json.loads((folder / "run.json").read_text())
    start, stop = run["window"]
    script = subprocess.run(["perf", "script", "-i", str(folder / "perf.data"), "-F", "time,ip,sym"],
                            capture_output=True, text=True, check=True).stdout
    kept = []
    for line in script.splitlines():
        fields = line.split(None, 2)
        if len(fields) >= 2 and start <= float(fields[0].rstrip(":")) <= stop:
            kept.append((int(fields[1], 16), fields[2].split("+")[0] if len(fields) > 2 else "?"))
    return kept, run


def kernel_of(address: int, kernels: dict) -> str | None:
    return next((name for name, start in kernels.items() if 0 <= address - start < CODE_BYTES), None)


def annotate(folder: Path, kernel: str, taken: list[tuple[int, str]], start: int, top: int) -> None:
    counts = collections.Counter(address - start for address, _ in taken if 0 <= address - start < CODE_BYTES)
    listing = subprocess.run(["objdump", "-D", "-b", "binary", "-m", "i386:x86-64", str(folder / f"{kernel}.bin")],
                             capture_output=True, text=True, check=True).stdout
    rows = [(int(line.split(":")[0], 16), line) for line in listing.splitlines()
            if ":" in line and line.split(":")[0].strip().isalnum() and line.startswith(" ")]
    where = {offset: k for k, (offset, _) in enumerate(rows)}
    print(f"\n{kernel}: {sum(counts.values())} samples; the {top} hottest instructions, each with the three before it")
    for offset, _ in counts.most_common(top):
        k = where.get(offset)
        if k is None:
            continue
        for offset_before, line in rows[max(0, k - 3) : k + 1]:
            print(f"{counts.get(offset_before, 0):6d} {line.strip()[:110]}")
        print("   ...")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=10_000)
    parser.add_argument("--annotate", choices=("ledger", "place", "ziggurat", "hazard"))
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        subprocess.run(["perf", "record", "-q", "-k", "CLOCK_MONOTONIC", "-e", "cpu-clock", "-F", "4000",
                        "-o", str(folder / "perf.data"), sys.executable, "-c", CHILD, scratch, str(args.paths)],
                       check=True)
        taken, run = samples(folder)
        seconds = run["window"][1] - run["window"][0]
        where = collections.Counter(kernel_of(a, run["kernels"]) or symbol for a, symbol in taken)
        print(f"simulate({args.paths} paths): {seconds:.3f} s, {len(taken)} samples")
        for name, n in where.most_common(args.top):
            print(f"  {seconds * n / len(taken):7.3f} s {100 * n / len(taken):5.1f} %  {name}")
        if args.annotate:
            annotate(folder, args.annotate, taken, run["kernels"][args.annotate], args.top)


if __name__ == "__main__":
    main()
