"""xQG retrieval inside mteb v2 (optional extra ``mteb``).

- :class:`XQGSearchModel`: an mteb ``SearchProtocol`` (index: encode the corpus and augment it
  with generated queries from a query store; search: encode queries, retrieve exactly), whose
  ``ModelMeta`` name and revision identify the xQG variant;
- :mod:`xqg_os.study.mteb.tasks`: local data as an ``AbsTaskRetrieval``, the hub's
  cross-lingual retrieval tasks (XPQA, MLQA, Belebele, CUREv1), corpus export for generation;
- :mod:`xqg_os.study.mteb.run`: ``mteb.evaluate`` with a variant-safe result cache, and rows
  for the study table.

Importing this package does not import mteb; :mod:`.tasks` does.
"""

from xqg_os.study.mteb.langs import subset_query_language, to_iso1, to_mteb
from xqg_os.study.mteb.model import XQGSearchModel, XQGVariant, model_meta


def mteb_available() -> bool:
    """Whether mteb v2 (with its SearchProtocol) is importable."""
    try:
        from mteb.models import SearchProtocol  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["XQGSearchModel", "XQGVariant", "model_meta", "mteb_available",
           "subset_query_language", "to_iso1", "to_mteb"]
