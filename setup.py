"""Build step of ``pip install .``: the built package carries its compiled numba kernels.

Everything else about the build is in pyproject.toml. After setuptools has copied the package
into the build folder, riskpool.precompile runs there (in the build's own environment, whose
numba is pyproject.toml's build requirement), so that numba's cache files are written beside the
copied sources and go into the wheel (docs/performance.md). RISKPOOL_PRECOMPILE=0 skips it.
"""

import os
import pathlib
import subprocess  # nosec B404 (runs this interpreter on the package being built)
import sys

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithKernels(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install compiles into the source tree on its first run
        # a build folder left by an earlier build may hold kernels compiled from other sources
        for stale in pathlib.Path(self.build_lib, "riskpool", "__pycache__").glob("*.nb[ic]"):
            stale.unlink()
        if os.environ.get("RISKPOOL_PRECOMPILE", "1") == "0":
            return
        # numba's own settings must not send the cache elsewhere (NUMBA_CACHE_DIR) or disable it
        env = {key: value for key, value in os.environ.items() if not key.startswith("NUMBA_")}
        subprocess.run([sys.executable, "-m", "riskpool.precompile"], cwd=self.build_lib, env=env,  # nosec B603
                       check=True)


setup(cmdclass={"build_py": BuildWithKernels})
