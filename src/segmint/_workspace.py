"""The public Python API: a workspace as a data scientist uses it from a notebook or a script.

Every method normalises its arguments, calls exactly one use case (the function the CLI, the HTTP API
and the dashboard call for the same job, so a number is the same on every surface) and hands back plain
data: pandas DataFrames for tables, dicts for reports, an :class:`Explanation` for an explanation.
Nothing returned holds the workspace's connection, except :meth:`Workspace.table`, the documented way
for power users to reach the engine.

The use cases are imported inside the methods: ``import segmint`` runs for every CLI command and every
server worker, and those must not pay at start-up for scikit-learn, SciPy and the synthetic-shop
generator that only some methods need.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from segmint.adapters.workspace import Workspace as _Inner
from segmint.adapters.workspace import WorkspaceError
from segmint.core.timeutil import DurationError, parse_as_of
from segmint.errors import SegmintError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Explanation", "ReadOnlyError", "Workspace", "generate", "init", "open"]

Time = str | date | datetime
PathLike = str | os.PathLike
T = TypeVar("T")


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


class Workspace:
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

    # -- data in ------------------------------------------------------------------------------------
    def import_files(
        self,
        fmt: str,
        files: PathLike | Iterable[PathLike],
        *,
        table: str | None = None,
        mapping: Mapping[str, Any] | PathLike | None = None,
        keep_good: bool = False,
        delimiter: str | None = None,
        encoding: str | None = None,
        date_format: str | None = None,
        timezone: str | None = None,
        currency: str | None = None,
    ) -> dict[str, Any]:
        """Import files in one all-or-nothing transaction, as ``segmint import``; the import report."""
        from segmint.batch.importing import import_files

        options = {
            "delimiter": delimiter,
            "encoding": encoding,
            "date_format": date_format,
            "timezone": timezone,
            "currency": currency,
        }
        chosen = dict(mapping) if isinstance(mapping, Mapping) else mapping
        report = self._write(
            "import files",
            import_files,
            _text(fmt, "fmt"),
            _paths(files),
            table=table,
            mapping=chosen,
            keep_good=bool(keep_good),
            options=options,
        )
        return report.to_dict()

    def load_generated(self, folder: PathLike) -> dict[str, int]:
        """Load a shop written by :func:`segmint.generate` (or ``segmint generate``); rows per table."""
        from segmint.demo.generate import load_generated

        return self._write("load a generated shop", load_generated, _path(folder))

    # -- segments as code ---------------------------------------------------------------------------
    def install_library(self, overwrite: bool = False) -> list[str]:
        """Copy the ready-made segments into ``segments/``; the names written."""
        from segmint.batch.definitions import install_library

        return self._write("install the segment library", install_library, bool(overwrite))

    def validate(self) -> pd.DataFrame:
        """Check every segment file, as ``segmint segments validate``; one row per segment."""
        from segmint.batch.definitions import validate

        rows = self._read(validate)
        return _rows(rows, columns=["name", "family", "group", "file", "hash"])

    def save_segment(
        self,
        name: str,
        rule: str,
        *,
        family: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        group: str | None = None,
        params: Mapping[str, Any] | None = None,
        mode: Literal["create", "replace", "version"] = "create",
        as_of: Time | None = None,
    ) -> dict[str, Any]:
        """Write ``segments/<name>.yaml`` and evaluate the segment (and those using it) as of ``as_of``
        (default: the latest run), as the API and the dashboard builder save a segment. ``mode``:
        ``create`` (a new name), ``replace`` (exactly these fields) or ``version`` (fields not given
        keep their values)."""
        from segmint.batch.admin import save_and_evaluate

        if mode not in ("create", "replace", "version"):
            raise SegmintError(f"mode must be 'create', 'replace' or 'version', not {mode!r}")
        data = {
            "name": name,
            "rule": rule,
            "family": family,
            "description": description,
            "tags": list(tags) if tags is not None and not isinstance(tags, str) else tags,
            "group": group,
            "params": dict(params) if params is not None else None,
        }
        return self._write("save a segment", save_and_evaluate, data, mode=mode, as_of=_time(as_of))

    # -- running ------------------------------------------------------------------------------------
    def run(self, as_of: Time | None = None) -> dict[str, Any]:
        """Traits, every segment and its history as of ``as_of`` (default: the end of the data), as
        ``segmint run``; the run's report."""
        from segmint.batch.pipeline import run_pipeline

        return _pipeline_report(self._write("run", run_pipeline, _time(as_of)))

    def backfill(self, start: Time, end: Time, every: str = "1w") -> list[dict[str, Any]]:
        """Run at ``start``, ``start + every``, … up to ``end``, as ``segmint run --from --to --every``;
        one report per time."""
        from segmint.batch.pipeline import backfill_pipeline

        results = self._write(
            "backfill",
            backfill_pipeline,
            _instant(start, "start"),
            _instant(end, "end"),
            _text(every, "every"),
        )
        return [_pipeline_report(r) for r in results]

    # -- traits -------------------------------------------------------------------------------------
    def traits(self, as_of: Time | None = None, customers: Iterable[str] | str | None = None) -> pd.DataFrame:
        """Every trait of every customer as of ``as_of`` (default: the latest run, else the end of the
        data): the stored table when it is valid for that time, else computed without storing. With
        ``customers``, only those, computed from their own rows (the same values). ``attrs["as_of"]``
        is the time used."""
        from segmint.batch import traits

        t = _time(as_of) or self._default_time()
        if customers is None:
            table, stored = self._read(traits.traits_at, t)
        else:
            ids = [_id(c) for c in ([customers] if isinstance(customers, str | int) else customers)]
            table, _ = self._read(traits.restricted_traits, t, ids)
            # Inputs that are not cut down to these customers (predictions) bring rows of others, with
            # values computed from none of their orders: keep the customers asked for, as profile does.
            table = table.filter(table.customer_id.isin(ids))
            stored = False
        frame = _frame(table.order_by("customer_id"))
        frame.attrs.update(as_of=t, stored=stored)
        return frame

    def profile(self, customer_id: str, as_of: Time | None = None) -> dict[str, Any]:
        """One customer's traits grouped by family, as ``segmint profile`` (same default time)."""
        from segmint.batch.traits import profile

        return self._read(profile, _id(customer_id), _time(as_of))

    # -- segments -----------------------------------------------------------------------------------
    def segments(self, as_of: Time | None = None) -> pd.DataFrame:
        """Every segment with its family, group, rule, version and members, as ``segmint segments
        list``: current members, or members at a past time."""
        from segmint.batch.reads import segment_summaries

        t = _time(as_of)
        frame = _rows(self._read(segment_summaries, t), columns=_SEGMENT_COLUMNS)
        frame.attrs["as_of"] = t
        return frame

    def members(self, name: str, as_of: Time | None = None) -> pd.DataFrame:
        """``customer_id, since`` of a segment's members: current, or at a past time."""
        from segmint.batch.reads import members

        t = _time(as_of)
        frame = _frame(self._read(members, _text(name, "name"), t))
        frame.attrs.update(segment=name, as_of=t)
        return frame

    def count(self, name: str, as_of: Time | None = None) -> int:
        """How many customers are in a segment: current, or at a past time."""
        from segmint.batch.reads import members

        table = self._read(members, _text(name, "name"), _time(as_of))
        return int(table.count().to_pyarrow().as_py())

    def select(self, rule: str, as_of: Time | None = None) -> pd.DataFrame:
        """The customers an ad-hoc rule matches (nothing is saved), as ``segmint segments count``.
        ``attrs["as_of"]`` is the time used (default: the latest run, else the end of the data)."""
        from segmint.batch.select import select

        chosen = self._read(select, _text(rule, "rule"), _time(as_of))
        frame = _frame(chosen.table.order_by("customer_id"))
        frame.attrs.update(rule=rule, as_of=chosen.as_of, stored_traits=chosen.traits_reused)
        return frame

    def explain(self, customer_id: str, segment: str, as_of: Time | None = None) -> Explanation:
        """Each clause of a segment's rule with the customer's values and whether it holds, as
        ``segmint explain`` (default time: the latest run, else the end of the data)."""
        from segmint.batch.explain import explain

        out = self._read(explain, _id(customer_id), _text(segment, "segment"), _time(as_of))
        return Explanation(
            segment=out["segment"],
            customer_id=out["customer_id"],
            as_of=datetime.fromisoformat(out["as_of"]),
            found=out["found"],
            result=out["result"],
            clauses=out["clauses"],
            lines=tuple(out["lines"]),
        )

    def kpis(
        self, names: Iterable[str] | str | None = None, as_of: Time | None = None, period: str = "90d"
    ) -> pd.DataFrame:
        """Size, revenue, AOV, repeat rate, retention, conversion and e-mail rates per segment (all by
        default) and for the whole base, as ``segmint segments kpis``."""
        from segmint.batch.kpis import kpis

        chosen = [names] if isinstance(names, str) else (list(names) if names is not None else None)
        rows = self._read(kpis, chosen, _time(as_of), _text(period, "period"))
        frame = _rows(rows)
        frame.attrs["as_of"] = rows[0]["as_of"] if rows else None
        return frame

    def history(self, names: Iterable[str] | str | None = None) -> pd.DataFrame:
        """``segment, as_of, size`` at every run time, as ``segmint segments history``."""
        from segmint.batch.reads import size_over_time

        chosen = [names] if isinstance(names, str) else (list(names) if names is not None else None)
        return _rows(self._read(size_over_time, chosen), columns=["segment", "as_of", "size"])

    def changes(self, name: str, start: Time, end: Time) -> pd.DataFrame:
        """Customers who entered or left a segment between two run times, as ``segmint segments
        changes``."""
        from segmint.batch.reads import entries_exits

        rows = self._read(entries_exits, _text(name, "name"), _instant(start, "start"), _instant(end, "end"))
        return _rows(rows, columns=["customer_id", "change"])

    def migration(self, group: str, start: Time, end: Time) -> pd.DataFrame:
        """How customers moved between the exclusive segments of ``group`` (e.g. ``rfm``) between two
        run times, as ``segmint segments migration``: one row per (from, to) pair."""
        from segmint.batch.reads import migration

        rows = self._read(migration, _text(group, "group"), _instant(start, "start"), _instant(end, "end"))
        return _rows(rows)

    def overlap(self, names: Iterable[str], as_of: Time | None = None) -> pd.DataFrame:
        """Customers in both of each pair of segments, share and Jaccard index, as ``segmint segments
        overlap``."""
        from segmint.batch.reads import overlap

        chosen = [names] if isinstance(names, str) else list(names)
        return _rows(self._read(overlap, [_text(n, "name") for n in chosen], _time(as_of)))

    def export(self, name: str, path: PathLike, as_of: Time | None = None) -> int:
        """Write a segment's members (with e-mail and opt-in) to a ``.csv`` or ``.parquet`` file, as
        ``segmint segments export``; how many were written."""
        from segmint.batch.exports import export_members

        return self._read(export_members, _text(name, "name"), _path(path), _time(as_of))

    # -- models -------------------------------------------------------------------------------------
    def fit(
        self,
        model: str = "bgnbd",
        *,
        calibration_end: Time,
        holdout_end: Time | None = None,
        time_unit: str = "weeks",
    ) -> dict[str, Any]:
        """Fit a BTYD model (``bgnbd``, ``pnbd``, ``mbgnbd`` or ``gg``) on the orders up to
        ``calibration_end``, as ``segmint predict fit``; the stored run with parameters and metrics."""
        from segmint.models.predict import fit_model

        return self._write(
            "fit a model",
            fit_model,
            _text(model, "model"),
            _instant(calibration_end, "calibration_end"),
            _time(holdout_end, "holdout_end"),
            _text(time_unit, "time_unit"),
        )

    def runs(self, model: str | None = None) -> pd.DataFrame:
        """Every fitted model run, newest first, as ``segmint predict report``."""
        from segmint.models.predict import list_runs

        return _rows(self._read(list_runs, model))

    def score(
        self,
        run_id: str | None = None,
        as_of: Time | None = None,
        *,
        monthly_discount_rate: float = 0.01,
    ) -> dict[str, Any]:
        """Score every customer with a run (newest by default) as of ``as_of`` (default: the end of the
        run's data), as ``segmint predict score``; the predictions become the traits ``p_alive``,
        ``expected_orders_90d``, ``clv_12m`` and ``purchase_propensity_30d``."""
        from segmint.models.predict import score

        return self._write(
            "score customers",
            score,
            run_id,
            _time(as_of),
            monthly_discount_rate=float(monthly_discount_rate),
        )

    def cluster(
        self,
        *,
        traits: Iterable[str] | None = None,
        k: int | str = "auto",
        algorithm: str = "kmeans",
        sample: int = 50_000,
        name: str = "default",
        as_of: Time | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Fit (or refit) a cluster model and assign every customer, as ``segmint cluster fit``; each
        cluster becomes the segment ``cluster:<name>:<n>``."""
        from segmint.models.clusters import fit_clusters

        fitted = self._write(
            "fit clusters",
            fit_clusters,
            traits=list(traits) if traits is not None else None,
            k=k,
            algorithm=_text(algorithm, "algorithm"),
            sample=int(sample),
            name=_text(name, "name"),
            as_of=_time(as_of),
            seed=int(seed),
        )
        return fitted.to_dict()

    def cluster_report(self, name: str = "default") -> dict[str, Any]:
        """A cluster model's profiles (size, name, description, distinguishing traits), as ``segmint
        cluster report``."""
        from segmint.models.clusters import cluster_report

        return self._read(cluster_report, _text(name, "name"))

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

    # -- plumbing -----------------------------------------------------------------------------------
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


# -- argument normalisation -------------------------------------------------------------------------
_SEGMENT_COLUMNS = ["name", "family", "group", "description", "rule", "file", "version", "members", "defined"]


@contextmanager
def _user_errors() -> Iterator[None]:
    """A time or duration that cannot be read is the caller's error: the core raises it as a plain
    ``ValueError`` (it knows nothing of services), the API raises it as a :class:`SegmintError`."""
    try:
        yield
    except DurationError as exc:
        raise SegmintError(str(exc)) from None


def _time(value: Time | None, what: str = "as_of") -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str | date | datetime):
        raise SegmintError(
            f"{what} must be a date, a datetime or a text such as '2025-06-30' or '-7d', not {value!r}"
        )
    with _user_errors():
        return parse_as_of(value)


def _instant(value: Time, what: str) -> datetime:
    """A time the call cannot do without (a default would be the wall clock, which data never is)."""
    if value is None:
        raise SegmintError(f"{what} is required: a date such as '2025-06-30', or a datetime")
    return _time(value, what)  # type: ignore[return-value]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise SegmintError(f"{what} must be text, not {type(value).__name__} {value!r}")
    return value


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SegmintError(f"a customer id is text (or a whole number), not {value!r}")
    return str(value)


def _path(value: Any) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise SegmintError(f"expected a file or folder path, not {type(value).__name__} {value!r}")
    return Path(value).expanduser()


def _paths(value: Any) -> list[Path]:
    if isinstance(value, str | os.PathLike):
        return [_path(value)]
    if not isinstance(value, Iterable):
        raise SegmintError(f"files must be a path or a list of paths, not {value!r}")
    return [_path(v) for v in value]


def _rows(rows: list[dict[str, Any]], columns: list[str] | None = None) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns)


def _frame(table: Any) -> pd.DataFrame:
    return table.to_pandas()


def _pipeline_report(result: Any) -> dict[str, Any]:
    return {**result.to_dict(), "as_of": result.as_of}
