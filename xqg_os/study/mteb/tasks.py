"""mteb tasks for the study: local data as an ``AbsTaskRetrieval`` (offline, one subset per
query language), the hub's cross-lingual retrieval tasks by name, and corpus export for
query generation.

Importing this module imports mteb (and datasets).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from datasets import Dataset
from mteb.abstasks.retrieval import AbsTaskRetrieval
from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
from mteb.abstasks.task_metadata import TaskMetadata

from xqg_os.errors import InputError
from xqg_os.fingerprint import fingerprint
from xqg_os.study.mteb.langs import to_mteb
from xqg_os.study.sweep import EvalData

# The cross-lingual retrieval tasks of mteb the study targets. By default only their
# cross-language subsets run (query language != document language; see cross_language_subsets).
CROSS_LINGUAL_TASKS: tuple[str, ...] = ("XPQARetrieval", "MLQARetrieval", "BelebeleRetrieval",
                                        "CUREv1")


def cross_language_subsets(metadata: TaskMetadata) -> list[str]:
    """The subsets whose query and document languages differ (script variants of one language,
    such as Belebele's ``arb_Arab-arb_Latn``, do not count)."""
    chosen = []
    for subset, tags in metadata.hf_subsets_to_langscripts.items():
        if len(tags) >= 2 and tags[0].split("-")[0] != tags[1].split("-")[0]:
            chosen.append(subset)
    return chosen


class LocalRetrievalTask(AbsTaskRetrieval):
    """Local corpus, queries and qrels as an mteb retrieval task, one subset per query language.

    Build it with :func:`local_task`, which makes a subclass carrying the task's metadata (mteb
    reads ``metadata`` from the class after unloading data); it never downloads anything.
    """

    data: EvalData

    def __init__(self, data: EvalData, split: str = "test", **kwargs: Any) -> None:
        self.data = data
        self.split = split
        super().__init__(**kwargs)

    def load_data(self, num_proc: int | None = None, **kwargs: Any) -> None:
        """Turn the local records into mteb's datasets (no hub access)."""
        if self.data_loaded:
            return
        corpus = Dataset.from_list([{"id": p.id, "title": p.title, "text": p.text}
                                    for p in self.data.passages])
        qrels = self.data.qrels or {}
        self.dataset = {}
        for lang in self.hf_subsets:
            queries = [q for q in self.data.queries if q.lang == lang]
            self.dataset[lang] = {self.split: RetrievalSplitData(
                queries=Dataset.from_list([{"id": q.id, "text": q.text, "lang": q.lang}
                                           for q in queries]),
                corpus=corpus,
                relevant_docs={q.id: dict(qrels[q.id]) for q in queries if q.id in qrels},
                top_ranked=None)}
        self.data_loaded = True


def local_task(data: EvalData, name: str = "XQGLocalRetrieval", split: str = "test",
               document_language: str = "en") -> LocalRetrievalTask:
    """An mteb task over local data (see :class:`LocalRetrievalTask`).

    Args:
        data: corpus, queries (with languages) and qrels.
        name: the task name (mteb's result file is named after it).
        split: the split name results are filed under.
        document_language: the corpus language, for the task metadata.

    Raises:
        InputError: without qrels (mteb evaluates from qrels only) or for unknown languages.
    """
    if not data.qrels:
        raise InputError("an mteb task needs qrels", param="qrels")
    doc_tag = to_mteb(document_language)
    digest = fingerprint({"passages": [[p.id, p.title, p.text] for p in data.passages],
                          "queries": [[q.id, q.text, q.lang] for q in data.queries],
                          "qrels": data.qrels})
    metadata = TaskMetadata(
        name=name, description=f"Local xqg-os retrieval data ({data.name}).",
        reference=None, dataset={"path": f"local/{name}", "revision": digest},
        type="Retrieval", category="t2t", modalities=["text"], eval_splits=[split],
        eval_langs={lang: [to_mteb(lang), doc_tag] for lang in data.languages()},
        main_score="ndcg_at_10", date=None, domains=None, task_subtypes=None, license=None,
        annotations_creators=None, dialect=None, sample_creation=None, bibtex_citation="")
    task_class = type(f"Local{name}", (LocalRetrievalTask,), {"metadata": metadata})
    return task_class(data, split)


def hub_error(name: str, exc: BaseException) -> str:
    """One line for a task whose data cannot be fetched."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return (f"cannot load the data of mteb task {name}: {reason} (offline? the Hugging Face "
            "hub must be reachable, or the dataset in its cache)")


# splits to evaluate by default where a task has many (CUREv1: one per medical discipline)
DEFAULT_SPLITS: dict[str, tuple[str, ...]] = {"CUREv1": ("all",)}


def hub_task(name: str, subsets: Sequence[str] | None = None,
             splits: Sequence[str] | None = None) -> AbsTaskRetrieval:
    """An mteb retrieval task by name, restricted to ``subsets`` (default: the cross-language
    subsets of a task in :data:`CROSS_LINGUAL_TASKS`, all subsets of another) and ``splits``.

    Raises:
        InputError: for an unknown task, a non-retrieval task or unknown subsets / splits.
    """
    import mteb

    try:
        task = mteb.get_task(name)
    except Exception as exc:  # noqa: BLE001 - mteb raises KeyError / ValueError
        raise InputError(f"unknown mteb task {name!r}: {str(exc).splitlines()[0][:200]}"
                         ) from None
    if not isinstance(task, AbsTaskRetrieval):
        raise InputError(f"mteb task {name!r} is not a retrieval task")
    if subsets:
        wanted = list(subsets)
    else:
        wanted = cross_language_subsets(task.metadata) if name in CROSS_LINGUAL_TASKS else []
    unknown = [s for s in wanted if s not in task.metadata.hf_subsets]
    if unknown:
        raise InputError(f"{name} has no subset(s) {', '.join(unknown)}; it has "
                         + ", ".join(task.metadata.hf_subsets[:30]))
    chosen_splits = list(splits) if splits else list(DEFAULT_SPLITS.get(name, ()))
    bad = [s for s in chosen_splits if s not in task.metadata.eval_splits]
    if bad:
        raise InputError(f"{name} has no split(s) {', '.join(bad)}; it has "
                         + ", ".join(task.metadata.eval_splits))
    chosen = mteb.get_task(name, hf_subsets=wanted or None, eval_splits=chosen_splits or None)
    if not isinstance(chosen, AbsTaskRetrieval):
        raise InputError(f"mteb task {name!r} is not a retrieval task")
    return chosen


def export_corpus(task: AbsTaskRetrieval, out: str | Path, id_template: str = "{id}",
                  split: str | None = None) -> tuple[Path, int]:
    """Write the documents of a task's selected subsets as one JSONL corpus (``id``, ``title``,
    ``text``, ids through ``id_template``) for ``xqg-os generate --corpus``.

    Loads the task's data (from the hub or its cache). Documents whose templated id repeats are
    written once.

    Returns:
        The file and the number of passages written.
    """
    try:
        task.load_data()
    except OSError as exc:  # datasets' ConnectionError, a missing cache entry offline
        raise InputError(hub_error(task.metadata.name, exc)) from None
    task.convert_v1_dataset_format_to_v2(num_proc=None)
    split = split or task.metadata.eval_splits[0]
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    with open(path, "w", encoding="utf-8") as handle:
        for subset in task.hf_subsets:
            data = task.dataset.get(subset, {}).get(split)
            if data is None:
                continue
            corpus = data["corpus"]
            titles = corpus["title"] if "title" in corpus.column_names else [""] * len(corpus)
            for doc, title, text in zip(corpus["id"], titles, corpus["text"]):
                pid = id_template.format(id=doc, subset=subset, split=split)
                if pid in seen:
                    continue
                seen.add(pid)
                handle.write(json.dumps({"id": pid, "title": title or "", "text": text or ""},
                                        ensure_ascii=False) + "\n")
    return path, len(seen)
