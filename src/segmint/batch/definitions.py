"""Segment definitions of a workspace: ``segments/*.yaml`` read, validated and ordered.

Every surface reads definitions through :func:`load_definitions`, so the CLI, the API, the dashboard and
the live engine see the same list. Parsing ~50 YAML files costs about half a second in pure-Python YAML,
so the parsed list is kept until a file is added, removed or changed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Mapping
from difflib import get_close_matches
from importlib import resources
from pathlib import Path
from typing import Any

from segmint.adapters.workspace import Workspace
from segmint.core.rules import CheckContext, check, find_cycle, segment_refs
from segmint.core.rules import nodes as n
from segmint.core.rules.errors import RuleCycleError, RuleError
from segmint.core.rules.parser import parse
from segmint.core.segments.definition import SegmentDef, SegmentError, parse_segment_yaml, segment_to_yaml
from segmint.core.segments.params import ParamError, substitute

__all__ = [
    "CLUSTER_PREFIX",
    "SegmentNames",
    "check_context",
    "check_definition",
    "dependants",
    "dependencies",
    "dependency_layers",
    "install_library",
    "is_cluster",
    "library_definitions",
    "load_definitions",
    "resolve_rule",
    "suggest",
    "users_of",
    "validate",
    "with_dependencies",
]

# Cluster segments are named ``cluster:<model>:<n>``; fitted cluster models define them, not YAML files.
CLUSTER_PREFIX = "cluster:"

_CACHE: dict[str, tuple[tuple, list[SegmentDef]]] = {}
_CACHE_LOCK = threading.Lock()


def is_cluster(name: str) -> bool:
    return name.startswith(CLUSTER_PREFIX)


def _signature(folder: Path) -> tuple:
    """What the parsed definitions depend on: each YAML file's name, size and modification time."""
    if not folder.exists():
        return ()
    out = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        with contextlib.suppress(FileNotFoundError):
            st = path.stat()
            out.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def _read_dir(folder: Path) -> list[SegmentDef]:
    defs: list[SegmentDef] = []
    seen: dict[str, str] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        d = parse_segment_yaml(path.read_text(encoding="utf-8"), source=str(path.name))
        if d.name in seen:
            raise SegmentError(
                f"{path.name}: segment {d.name!r} is already defined in {seen[d.name]}",
                detail={"file": path.name, "field": "name"},
            )
        seen[d.name] = path.name
        defs.append(d)
    return defs


def load_definitions(ws: Workspace) -> list[SegmentDef]:
    """Every segment under the workspace's ``segments/`` folder, validated field by field (raises the
    first error with its file and line)."""
    folder = ws.segments_dir
    key = str(folder.resolve())
    signature = _signature(folder)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None and hit[0] == signature:
        return list(hit[1])
    defs = _read_dir(folder) if folder.exists() else []
    with _CACHE_LOCK:
        _CACHE[key] = (signature, defs)
    return list(defs)


def library_definitions() -> list[SegmentDef]:
    """The ready-made segments shipped with Segmint."""
    folder = resources.files("segmint.core.segments") / "library"
    return _read_dir(Path(str(folder)))


def install_library(ws: Workspace, overwrite: bool = False) -> list[str]:
    """Copy the ready-made segments into ``segments/``; files a user already has are kept unless
    ``overwrite``. Returns the names written."""
    ws.segments_dir.mkdir(exist_ok=True)
    written = []
    for d in library_definitions():
        target = ws.segments_dir / f"{d.name}.yaml"
        if target.exists() and not overwrite:
            continue
        target.write_text(segment_to_yaml(d), encoding="utf-8")
        written.append(d.name)
    return written


def resolve_rule(defn: SegmentDef) -> n.Rule:
    """The rule tree of a definition with its parameters bound; errors point into the YAML file."""
    try:
        return substitute(defn.rule, defn.params, parse)
    except RuleError as exc:
        raise located(defn, exc) from None
    except ParamError as exc:
        raise SegmentError(
            f"{defn.source or defn.name}:{defn.rule_line}:{defn.rule_column}: segment {defn.name!r}: "
            f"{exc.message}",
            detail={"file": defn.source, "field": "params", "segment": defn.name},
        ) from None


def located(defn: SegmentDef, exc: RuleError) -> SegmentError:
    """A rule error turned into a segment error at its position in the YAML file."""
    line, col = defn.file_position(exc.line or 1, exc.column or 1)
    where = f"{defn.source or defn.name}:{line}:{col}"
    return SegmentError(
        f"{where}: segment {defn.name!r}, field 'rule': {exc.kind}: {exc.reason}",
        detail={
            "file": defn.source,
            "segment": defn.name,
            "field": "rule",
            "line": line,
            "column": col,
            "rule_line": exc.line,
            "rule_column": exc.column,
            "reason": exc.reason,
        },
    )


def dependencies(rule: n.Rule) -> set[str]:
    """The segments a rule refers to with ``in_segment`` (cluster segments included)."""
    return set(segment_refs(rule))


def dependency_layers(rules: Mapping[str, n.Rule], external: Iterable[str] = ()) -> list[list[str]]:
    """Segments in layers: each layer only uses segments of earlier layers (or ``external`` ones,
    resolved elsewhere, and cluster segments). Cycles and references to segments that do not exist are
    errors."""
    outside = set(external)
    deps = {
        name: {d for d in dependencies(rule) if not is_cluster(d) and d not in outside}
        for name, rule in rules.items()
    }
    for name, used in deps.items():
        for other in used:
            if other not in rules:
                raise SegmentError(
                    f"segment {name!r} uses in_segment({other!r}) but no segment is called {other!r}"
                    + suggest(other, rules),
                    detail={"segment": name, "field": "rule"},
                )
    layers: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(rules):
        layer = sorted(name for name in rules if name not in done and deps[name] <= done)
        if not layer:
            loop = find_cycle({name: sorted(deps[name]) for name in rules if name not in done}) or []
            raise RuleCycleError(f"segments depend on each other in a cycle: {' → '.join(loop)}")
        layers.append(layer)
        done.update(layer)
    return layers


def with_dependencies(defs: list[SegmentDef], wanted: set[str]) -> list[SegmentDef]:
    """``wanted`` and every segment they use, transitively."""
    by_name = {d.name: d for d in defs}
    missing = wanted - set(by_name)
    if missing:
        raise SegmentError(f"no segment called {', '.join(sorted(missing))}")
    todo, keep = list(wanted), set()
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(d for d in dependencies(resolve_rule(by_name[name])) - keep if d in by_name)
    return [d for d in defs if d.name in keep]


def users_of(defs: Iterable[SegmentDef], name: str) -> list[str]:
    """The segments whose rule uses ``in_segment(name)`` directly."""
    return sorted(d.name for d in defs if d.name != name and name in dependencies(resolve_rule(d)))


def dependants(defs: list[SegmentDef], names: Iterable[str]) -> list[str]:
    """``names`` and every segment that uses one of them, transitively, in evaluation order."""
    rules = {d.name: resolve_rule(d) for d in defs}
    users: dict[str, set[str]] = {}
    for name, rule in rules.items():
        for used in dependencies(rule):
            users.setdefault(used, set()).add(name)
    out, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in out:
            continue
        out.add(name)
        todo.extend(users.get(name, ()))
    order = [name for layer in dependency_layers(rules) for name in layer]
    return [name for name in order if name in out] + sorted(x for x in out if x not in rules)


class SegmentNames(frozenset):
    """Defined segment names, plus every well-formed cluster segment name (``cluster:<model>:<n>``):
    whether that model and cluster exist is only known against a workspace, when the rule is run."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and is_cluster(name))


def check_context(catalog, segment_names: Iterable[str]) -> CheckContext:
    return CheckContext(catalog=catalog, segments=SegmentNames(segment_names))


def check_definition(rule: n.Rule, defn: SegmentDef | None, catalog, segment_names: Iterable[str]) -> None:
    """Check a rule against the trait catalog and the segment names; errors point into ``defn``'s file."""
    try:
        check(rule, check_context(catalog, segment_names))
    except RuleError as exc:
        if defn is None:
            raise
        raise located(defn, exc) from None


def suggest(name: str, names: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``names``, or an empty string."""
    near = get_close_matches(name, sorted(names), n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


def validate(ws: Workspace) -> list[dict[str, Any]]:
    """Check every segment file: fields, rule syntax, names against the trait catalog, parameters and
    dependency cycles. Returns one row per segment; raises the first error with its file position."""
    from segmint.batch.traits import workspace_catalog

    defs = load_definitions(ws)
    catalog = workspace_catalog(ws)
    rules = {d.name: resolve_rule(d) for d in defs}
    for d in defs:
        check_definition(rules[d.name], d, catalog, rules)
    dependency_layers(rules)
    return [
        {"name": d.name, "family": d.family, "group": d.group, "file": d.source, "hash": d.content_hash}
        for d in defs
    ]
