"""The public Python API: a workspace as a data scientist uses it from a notebook or a script.

Every method normalises its arguments, calls exactly one use case (the function the CLI, the HTTP API
and the dashboard call for the same job, so a number is the same on every surface) and hands back plain
data: pandas DataFrames for tables, dicts for reports, an :class:`Explanation` for an explanation.
Nothing returned holds the workspace's connection, except :meth:`Workspace.table`, the documented way
for power users to reach the engine.

The use cases are imported inside the methods: ``import segmint`` runs for every CLI command and every
server worker, and those must not pay at start-up for scikit-learn, SciPy and the synthetic-shop
generator that only some methods need.

The methods are grouped in private modules (``_writes``, ``_reads``, ``_models``; argument handling in
``_args``, the plumbing in ``_base``); :class:`Workspace` here is their one public face.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from segmint._workspace._args import PathLike, Time, _path, _text, _user_errors
from segmint._workspace._models import _Models
from segmint._workspace._reads import _Reads
from segmint._workspace._writes import _Writes
from segmint.adapters.workspace import Workspace as _Inner
from segmint.adapters.workspace import WorkspaceError

__all__ = ["Explanation", "ReadOnlyError", "Workspace", "generate", "init", "open"]


class ReadOnlyError(WorkspaceError):
    """A method that writes was called on a workspace opened with ``read_only=True``."""


@dataclass(frozen=True)
class Explanation:
    """Why a customer is (or is not) in a segment at ``as_of``: each clause of the rule with the
    customer's values and whether it holds. ``lines`` is the readable form; ``clauses`` the same tree
    as data (``text``, ``kind``, ``result``, ``values``, ``children``). ``found`` is False when the
    customer did not exist yet at ``as_of`` (every clause is then false)."""

    segment: str
    customer_id: str
    as_of: datetime
    found: bool
    result: bool
    clauses: dict[str, Any]
    lines: tuple[str, ...]

    def __str__(self) -> str:
        verdict = "is" if self.result else "is not"
        head = f"customer {self.customer_id} {verdict} in {self.segment} as of {self.as_of:%Y-%m-%d %H:%M:%S}"
        return "\n".join([head, *self.lines])

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython and Jupyter call this in place of the dataclass repr, which would show the clause tree as
        # nested dicts on one line; people read the clauses as the CLI prints them.
        printer.text(str(self))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Workspace(_Writes, _Reads, _Models):
    """An open Segmint workspace (a folder with ``segmint.toml``, ``segments/`` and its data).

    ``Workspace(path)`` and :func:`segmint.open` open an existing one, :func:`segmint.init` creates
    one. Use it in a ``with`` block, or call :meth:`close` when done: the embedded database admits
    one writing process at a time.
    """

    def __init__(
        self, path: PathLike | None = None, *, engine: str | None = None, read_only: bool = False
    ) -> None:
        root = _path(path) if path is not None else None
        self._inner: _Inner | None = _Inner.open(root, engine=engine, read_only=bool(read_only))

    # -- lifecycle ----------------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: PathLike | None = None, *, engine: str | None = None, read_only: bool = False
    ) -> Workspace:
        """Open the workspace at ``path`` (default: ``$SEGMINT_WORKSPACE``, else the current folder)."""
        return cls(path, engine=engine, read_only=read_only)

    @classmethod
    def init(cls, path: PathLike, *, engine: str | None = None, name: str | None = None) -> Workspace:
        """Create a workspace at ``path`` (an existing one is opened as it is) and open it."""
        if path is None:
            raise WorkspaceError("init needs the folder to create, e.g. segmint.init('myshop')")
        self = cls.__new__(cls)
        self._inner = _Inner.init(_path(path), engine=engine, name=name)
        return self

    def close(self) -> None:
        """Release the workspace (its database connection). Closing twice is harmless."""
        inner, self._inner = self._inner, None
        if inner is not None:
            inner.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        inner = self._inner
        if inner is None:
            return "<segmint.Workspace (closed)>"
        mode = " read-only" if inner.read_only else ""
        return f"<segmint.Workspace {str(inner.root)!r} engine={inner.engine.kind}{mode}>"

    @property
    def path(self) -> Path:
        """The workspace folder."""
        return self._open().root

    @property
    def name(self) -> str:
        """The shop's name (``[workspace] name`` in ``segmint.toml``)."""
        inner = self._open()
        return str(inner.setting("workspace", "name", inner.root.name))

    @property
    def engine(self) -> str:
        """The engine kind: ``duckdb``, ``pyspark`` or ``ibis``."""
        return self._open().engine.kind

    @property
    def read_only(self) -> bool:
        return self._open().read_only

    @property
    def closed(self) -> bool:
        return self._inner is None

    # -- the engine, for power users ----------------------------------------------------------------
    def table(self, name: str) -> Any:
        """A stored table as an Ibis table (``customers``, ``orders``, ``traits``, ``memberships``, …),
        for queries the methods above do not cover. Read it; never write through it."""
        inner = self._open()
        tables = inner.con.list_tables()
        if _text(name, "name") not in tables:
            from segmint.batch.definitions import suggest

            # Ibis's own temporary tables (in-memory inputs of a query) are the engine's business.
            known = sorted(t for t in tables if not t.startswith("ibis_"))
            raise WorkspaceError(
                f"no table called {name!r}{suggest(name, known)} (tables: {', '.join(known)})"
            )
        return inner.table(name)


def open(path: PathLike | None = None, *, engine: str | None = None, read_only: bool = False) -> Workspace:
    """Open the workspace at ``path`` (default: ``$SEGMINT_WORKSPACE``, else the current folder)."""
    return Workspace.open(path, engine=engine, read_only=read_only)


def init(path: PathLike, *, engine: str | None = None, name: str | None = None) -> Workspace:
    """Create a workspace at ``path`` (``segmint.toml``, ``segments/``, the database) and open it."""
    return Workspace.init(path, engine=engine, name=name)


def generate(
    out: PathLike,
    customers: int = 10_000,
    *,
    seed: int = 0,
    start: Time | None = None,
    end: Time | None = None,
    workers: int | None = None,
) -> dict[str, int]:
    """Write a realistic synthetic shop to the folder ``out`` as Parquet, as ``segmint generate``;
    rows per table. Load it with :meth:`Workspace.load_generated`."""
    from segmint.demo.generate import generate_shop

    stats: dict[str, Any] = {}
    with _user_errors():
        generate_shop(
            _path(out), int(customers), seed=int(seed), start=start, end=end, workers=workers, stats=stats
        )
    return dict(stats["counts"])
