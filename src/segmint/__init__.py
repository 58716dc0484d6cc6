"""Segmint: open-source customer segmentation for e-commerce.

The public Python API is re-exported here; everything else is an implementation module.
"""

from segmint.adapters.workspace import Workspace, WorkspaceError

__version__ = "0.1.0"

__all__ = ["Workspace", "WorkspaceError", "__version__"]
