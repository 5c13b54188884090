"""Search behind one :class:`~xqg_os.search.base.Searcher` protocol: k-NN on OpenSearch
(:mod:`.knn`, :class:`XQGSearcher`, what applications import; :class:`AsyncXQGSearcher` over
``AsyncOpenSearch``, :mod:`.aio`; pages and options, :mod:`.request`), hybrid BM25 + k-NN
(:class:`HybridSearcher`, :mod:`.hybrid`; :class:`AsyncHybridSearcher`, :mod:`.aiohybrid`),
exact brute force over vectors (:mod:`.exact`) and precomputed run files (:mod:`.runs`); any of
them turns queries into a :data:`~xqg_os.data.evalfiles.Run`
(:func:`~xqg_os.search.runs.retrieve`)."""

from xqg_os.search.aio import AsyncXQGSearcher
from xqg_os.search.aiohybrid import AsyncHybridSearcher
from xqg_os.search.base import Hit, Searcher, VectorSearcher
from xqg_os.search.exact import ExactSearcher
from xqg_os.search.hybrid import HybridSearcher
from xqg_os.search.knn import XQGSearcher
from xqg_os.search.request import Page, SearchOptions
from xqg_os.search.runs import RunSearcher, evaluate_searchers, retrieve

__all__ = ["AsyncHybridSearcher", "AsyncXQGSearcher", "ExactSearcher", "Hit", "HybridSearcher",
           "Page", "RunSearcher", "SearchOptions", "Searcher", "VectorSearcher", "XQGSearcher",
           "evaluate_searchers", "retrieve"]
