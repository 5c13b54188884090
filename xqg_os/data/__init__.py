"""On-disk formats and streaming readers/writers: corpora (:mod:`.corpus`), evaluation files
(:mod:`.evalfiles`: queries, qrels, answers, TREC runs), the vector folder (:mod:`.vectors`) and
the one line-numbered JSONL reader (:mod:`.jsonl`)."""
