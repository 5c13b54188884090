"""xqg-os: query-augmented passage representations (xQG) for cross-lingual dense retrieval
on OpenSearch."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("xqg-os")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
