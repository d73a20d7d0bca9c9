"""Writing output files so that nothing the program writes can replace a file it reads.

Every output (the report, its chart, a `--chart` file) is checked against the inputs (the
profile, every file of the knowledge base and its overlays, by resolved path and by inode, so a
symbolic or hard link is caught), must not land inside a knowledge-base directory, and is
written to a temporary file in the same directory and renamed over the target: a failed write
leaves the previous file as it was. A target that exists and is not a regular file (a terminal,
a pipe, `/dev/stdout`, `/dev/full`) is written in place, since it cannot be renamed over.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from sovereign_advisor.errors import InputError


class Inputs:
    """The files a run reads, and the knowledge-base directories they come from."""

    def __init__(self, files: Iterable[str | Path] = (), directories: Iterable[Path] = ()) -> None:
        self.directories = [d.resolve() for d in directories if d.is_dir()]
        paths = [Path(f) for f in files]
        for directory in self.directories:
            paths.extend(p for p in directory.rglob("*") if p.is_file())
        self.resolved = {p.resolve() for p in paths if p.exists()}
        self.inodes = set()
        for path in self.resolved:
            info = path.stat()
            self.inodes.add((info.st_dev, info.st_ino))

    def refuse(self, path: Path, what: str) -> None:
        """Raise `InputError` when writing `path` could replace or add to an input."""
        name = str(path)
        if not name:
            raise InputError(f"the {what} file name is empty")
        if "\0" in name:
            raise InputError(f"the {what} file name contains a NUL character", file=repr(name))
        if path.is_dir():
            raise InputError(f"the {what} file is a directory; name a file in it", file=name)
        if not path.parent.is_dir():
            raise InputError(
                f"the directory {path.parent} does not exist; create it first (the {what} "
                "is written only into an existing directory)",
                file=name,
            )
        resolved = path.resolve()
        same = resolved in self.resolved
        if not same and path.exists():
            info = path.stat()
            same = (info.st_dev, info.st_ino) in self.inodes
        if same:
            raise InputError(
                f"the {what} would replace an input file of this run; write it elsewhere",
                file=name,
            )
        for directory in self.directories:
            if resolved.is_relative_to(directory):
                raise InputError(
                    f"the {what} would be written inside the knowledge-base directory "
                    f"{directory}, which the next run would read; write it elsewhere",
                    file=name,
                )


def is_regular_target(path: Path) -> bool:
    """Whether `path` is (or would be) a regular file, i.e. not a terminal, pipe or device."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call `write(temporary_path)`, then rename the temporary file over `path`.

    The temporary file sits in the same directory (a rename is atomic only within one file
    system) and keeps `path`'s extension (writers such as matplotlib choose the format by it).
    A symbolic link at `path` keeps pointing where it did: its target is replaced.
    """
    import tempfile  # only here: it imports `random`, which a run without output files skips

    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    descriptor, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix or ".tmp"
    )
    os.close(descriptor)
    try:
        if target.exists():
            os.chmod(temporary, stat.S_IMODE(target.stat().st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
        write(Path(temporary))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text to `path` atomically (in place when it is a device or pipe)."""
    data = text.encode("utf-8")
    try:
        if not is_regular_target(path):
            with path.open("wb") as stream:
                stream.write(data)
            return
        write_atomically(path, lambda temporary: temporary.write_bytes(data))
    except OSError as error:
        raise InputError(
            f"cannot write the file: {error.strerror or error}", file=str(path)
        ) from None
