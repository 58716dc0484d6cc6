"""Segmint: open-source customer segmentation for e-commerce.

The public Python API (see docs/python.md) is exactly the names in ``__all__``; every other module
is an implementation detail that may change without notice.

    import segmint

    with segmint.open("myshop") as ws:
        ws.run()
        customers = ws.select("orders_count >= 5")  # a pandas DataFrame
"""

from segmint._workspace import Explanation, ReadOnlyError, Workspace, generate, init, open
from segmint.adapters.engines import EngineError
from segmint.adapters.importers._errors import ImportFailed
from segmint.adapters.workspace import WorkspaceError
from segmint.core.rules.errors import RuleError
from segmint.core.segments.definition import SegmentError, SegmentNotFound
from segmint.errors import SegmintError

__version__ = "0.1.0"

__all__ = [
    "EngineError",
    "Explanation",
    "ImportFailed",
    "ReadOnlyError",
    "RuleError",
    "SegmentError",
    "SegmentNotFound",
    "SegmintError",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "generate",
    "init",
    "open",
]
