"""Build hook: validate the packaged knowledge base once, when the wheel is built, and ship the
result (`sovereign_advisor/knowledge/snapshot.pickle`) so a fresh process need not validate it.

The snapshot is written by the package's own code (`write_snapshot` in
src/sovereign_advisor/knowledge/snapshot.py), run from the source tree in a child interpreter of
the build environment, which holds the project's runtime dependencies
(`require-runtime-dependencies` in pyproject.toml). A knowledge base that fails validation fails
the build with the loader's message. An editable install gets the snapshot in the source tree
(git-ignored); it is used while the pattern files and the validating modules are unchanged, and
ignored (the YAML is validated) once they change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

IN_WHEEL = "sovereign_advisor/knowledge/snapshot.pickle"

# the source tree goes on sys.path here: pip's isolated build environment rebuilds sys.path at
# start-up (its sitecustomize), dropping PYTHONPATH entries
WRITE = (
    "import sys\n"
    "from pathlib import Path\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from sovereign_advisor.knowledge.snapshot import write_snapshot\n"
    "print(write_snapshot(Path(sys.argv[2]), Path(sys.argv[3]), package_version=sys.argv[4]))\n"
)


class KnowledgeBaseSnapshotHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        if version == "editable":
            self._write(root, root / "src" / IN_WHEEL)
            return
        self._scratch = tempfile.TemporaryDirectory(prefix="sovereign-advisor-snapshot-")
        target = Path(self._scratch.name) / "snapshot.pickle"
        self._write(root, target)
        build_data["force_include"][str(target)] = IN_WHEEL

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            scratch.cleanup()

    def _write(self, root: Path, target: Path) -> None:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        arguments = [str(root / "src"), str(root / "patterns"), str(target), self.metadata.version]
        done = subprocess.run(
            [sys.executable, "-c", WRITE, *arguments],
            env=env,
            capture_output=True,
            text=True,
            check=False,  # the loader's message is raised below, in place of a bare exit status
        )
        if done.returncode != 0:
            raise RuntimeError(
                "no wheel built: writing the knowledge-base snapshot failed (the packaged "
                "knowledge base must load with full validation):\n"
                + (done.stderr.strip() or done.stdout.strip())
            )
        self.app.display_info(f"knowledge-base snapshot {done.stdout.strip()} -> {target}")
