"""The plumbing under every method of the public Python API: the open workspace, and running a use case
on it as a read or as a write (refused on a read-only workspace)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from segmint._workspace._args import _user_errors
from segmint.adapters.workspace import Workspace as _Inner
from segmint.adapters.workspace import WorkspaceError

T = TypeVar("T")


class _Plumbing:
    """What the method groups of :class:`segmint.Workspace` share: the open internal workspace."""

    _inner: _Inner | None

    def _open(self) -> _Inner:
        if self._inner is None:
            raise WorkspaceError("this workspace is closed: open it again with segmint.open(path)")
        return self._inner

    def _read(self, use_case: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        inner = self._open()
        with _user_errors():
            return use_case(inner, *args, **kwargs)

    def _write(self, what: str, use_case: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        inner = self._open()
        if inner.read_only:
            # Public names live in segmint._workspace, which imports this module: import at call time.
            from segmint._workspace import ReadOnlyError

            # Refused before anything starts: a read-only database would stop the engine's writes, but
            # not the segment files some of these write first.
            raise ReadOnlyError(
                f"cannot {what}: {inner.root} is open read-only; open it with segmint.open(path) to write"
            )
        with _user_errors():
            return use_case(inner, *args, **kwargs)

    def _default_time(self) -> datetime:
        from segmint.batch.reads import default_as_of

        return self._read(default_as_of)
