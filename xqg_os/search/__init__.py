"""Search behind one :class:`~xqg_os.search.base.Searcher` protocol: k-NN on OpenSearch
(:mod:`.knn`), exact brute force over vectors (:mod:`.exact`) and precomputed run files; any of
them turns queries into a :data:`~xqg_os.data.evalfiles.Run` (:mod:`.runs`)."""
