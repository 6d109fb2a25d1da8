"""What this machine lets the runner open, checked before the first trial starts.

Each running trial holds a pipe, its log file and, with the File collector, the
file being tailed; the store's connections take a few more. Without this
check a ``parallelTrialCount`` above the open-file limit starts some trials
and fails the rest as "Too many open files", one after another.
"""

from __future__ import annotations

from ..exceptions import SpecError

__all__ = ["FILES_PER_TRIAL", "ensure_open_files"]

FILES_PER_TRIAL = 4
_RESERVED = 64  # the interpreter, the store's connection pool, the live view


def ensure_open_files(parallel: int) -> None:
    """Raise the soft open-file limit as far as needed (up to the hard limit), or refuse the run."""
    try:
        import resource
    except ImportError:  # not a POSIX system: nothing to check
        return
    needed = parallel * FILES_PER_TRIAL + _RESERVED
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard == resource.RLIM_INFINITY or hard >= needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return
    raise SpecError.single(
        "spec.parallelTrialCount",
        f"{parallel} parallel trials need about {needed} open files, and this process may open at most {hard} "
        f"(ulimit -Hn); lower parallelTrialCount to {max((hard - _RESERVED) // FILES_PER_TRIAL, 1)} "
        "or raise the limit",
    )
