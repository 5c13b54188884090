"""On-disk formats and streaming readers/writers: corpora (:mod:`.corpus`), evaluation files
(:mod:`.evalfiles`: queries, qrels, answers, TREC runs), the vector folder (:mod:`.vectors`) and
the one line-numbered JSONL reader (:mod:`.jsonl`)."""

from xqg_os.data.corpus import Passage, read_corpus, scan_corpus
from xqg_os.data.evalfiles import Answer, Qrel, Query, Run, read_qrels, read_queries, read_run

__all__ = ["Answer", "Passage", "Qrel", "Query", "Run", "read_corpus", "read_qrels",
           "read_queries", "read_run", "scan_corpus"]
