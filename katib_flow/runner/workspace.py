"""A trial's local working directory, and how container paths map into it.

Each trial runs in ``<workdir>/runs/<experiment>/<trial>/`` with its output in
``trial.log`` there. Paths the File and TensorFlowEvent collectors read (such as
``/var/log/katib/metrics.log`` or ``/katib/mnist.log``) are container paths;
they are moved under the trial's ``fs/`` folder, in the collector and wherever
the same path (or the folder that holds it) appears in the trial's arguments
or environment, so parallel trials never write to one file. Relative paths in
the command resolve against the experiment file's folder, as they would be
written next to it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Workspace", "resolve_relative"]

# An absolute path inside a string: after the start, "=" or ":" (``--log=/x``, ``PATH=/a:/b``).
_ABSOLUTE = re.compile(r"(?:(?<=^)|(?<=[=:]))(/[^\s=:,;'\"]*)")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def log(self) -> Path:
        return self.root / "trial.log"

    @property
    def fs(self) -> Path:
        return self.root / "fs"

    def local(self, container_path: str) -> Path:
        """Where a container path lives for this trial."""
        return self.fs / posixpath.normpath(container_path).lstrip("/")

    def remap(self, texts: Sequence[str], collector_dirs: Iterable[str]) -> list[str]:
        """``texts`` with every path in or above a collector folder moved under ``fs/``."""
        anchors = [posixpath.normpath(d) for d in collector_dirs if d and d.startswith("/")]
        if not anchors:
            return list(texts)

        def replace(match: re.Match[str]) -> str:
            path = posixpath.normpath(match.group(1))
            for anchor in anchors:
                inside = path == anchor or path.startswith(anchor.rstrip("/") + "/")
                above = path != "/" and anchor.startswith(path.rstrip("/") + "/")
                if inside or above:
                    return str(self.local(path)) + ("/" if match.group(1).endswith("/") else "")
            return match.group(0)

        return [_ABSOLUTE.sub(replace, text) for text in texts]

    @staticmethod
    def bind(texts: Sequence[str], container_dir: str, local_dir: Path) -> list[str]:
        """``texts`` with every path equal to or inside ``container_dir`` moved into ``local_dir`` (a mount)."""
        anchor = posixpath.normpath(container_dir)

        def replace(match: re.Match[str]) -> str:
            path = posixpath.normpath(match.group(1))
            if path != anchor and not path.startswith(anchor.rstrip("/") + "/"):
                return match.group(0)
            inside = posixpath.relpath(path, anchor)
            local = local_dir if inside == "." else local_dir / inside
            return str(local) + ("/" if match.group(1).endswith("/") else "")

        return [_ABSOLUTE.sub(replace, text) for text in texts]

    def remap_env(self, env: Mapping[str, str], collector_dirs: Iterable[str]) -> dict[str, str]:
        dirs = list(collector_dirs)
        return dict(zip(env, self.remap(list(env.values()), dirs), strict=True))


def resolve_relative(argv: Sequence[str], base: Path) -> list[str]:
    """Arguments naming an existing file or folder relative to ``base`` (the experiment file's folder), made absolute.

    The program (argv[0]) is looked up on PATH as usual unless it is such a path too.
    """
    out = []
    for item in argv:
        prefix, sep, value = item.partition("=") if item.startswith("-") else ("", "", item)
        if item.startswith("-") and not sep:
            out.append(item)  # a flag such as -c or --verbose
            continue
        if value and not value.startswith(("/", "-")) and (base / value).exists():
            value = str((base / value).resolve())
        out.append(f"{prefix}{sep}{value}")
    return out
