"""A real cross-lingual retrieval benchmark from Debian's translated manual pages.

English pages (NAME line + the start of DESCRIPTION) are the passages. The NAME description of
a translated page (``manpages-de``: ``ls - Verzeichnisinhalte auflisten``), with the command
names removed, is a human-written query in that language whose one relevant passage is the
English page. Pages are split (seeded, per page, so no page is in both parts in any language)
into a test part, whose queries evaluate, and a training part, whose (query, passage) pairs
train the direct cross-lingual arm of the study. The evaluation corpus is the test pages plus
seeded English distractors.

Install the translations with ``apt-get install manpages-de manpages-fr ...``; any language
Debian ships works (``pt`` reads ``pt_BR``).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xqg_os.data.roff import parse_sections, read_source, so_target
from xqg_os.errors import InputError
from xqg_os.languages import parse_languages

MAN_ROOT = Path("/usr/share/man")
_FOLDERS = {"pt": ("pt_BR", "pt"), "zh": ("zh_CN", "zh_TW"), "nb": ("nb", "no")}
_PACKAGES = {"pt": "manpages-pt-br"}
_FILE = re.compile(r"^(?P<name>.+)\.(?P<section>[0-9n][a-z0-9]*)(?:\.gz)?$")
_DASH = re.compile(r"\s+(?:\\-|-|–|—|−)+\s+|\s+(?:-|–|—)$")


@dataclass(frozen=True)
class ManPage:
    """The parts of one page the benchmark uses.

    Attributes:
        key: ``man1/ls.1``: section folder and file name without compression.
        names: what the NAME line lists before the dash (``ls``, ``dir``).
        description: the NAME description after the dash.
        body: the start of DESCRIPTION as plain text (English pages only).
    """

    key: str
    names: str
    description: str
    body: str = ""

    @property
    def id(self) -> str:
        """The passage id: ``ls.1``."""
        return self.key.split("/", 1)[1]

    @property
    def title(self) -> str:
        """``ls(1)``."""
        name, _, section = self.id.rpartition(".")
        return f"{name}({section})"

    def passage_text(self, words: int) -> str:
        """NAME line and the start of DESCRIPTION, at most ``words`` words."""
        text = f"{self.names} - {self.description}. {self.body}".strip()
        tokens = text.split()
        return " ".join(tokens[:words]) + (" ..." if len(tokens) > words else "")


def split_name_line(text: str) -> tuple[str, str] | None:
    """``"ls, dir - list directory contents"`` -> ``("ls, dir", "list directory contents")``."""
    match = _DASH.search(text)
    if match is None:
        return None
    names, description = text[:match.start()].strip(), text[match.end():].strip()
    description = description.rstrip(". ").strip()
    return (names, description) if names and description else None


def read_page(path: Path, lang_root: Path, with_body: bool = False) -> ManPage | None:
    """Parse one page file (following one ``.so`` stub); None when it has no NAME line."""
    match = _FILE.match(path.name)
    if match is None:
        return None
    key = f"{path.parent.name}/{match.group('name')}.{match.group('section')}"
    try:
        source = read_source(path)
        target = so_target(source)
        if target is not None:
            stub = lang_root / target
            candidates = [stub, stub.with_name(stub.name + ".gz")]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                return None
            source = read_source(found)
    except OSError:
        return None
    sections = parse_sections(source)
    if not sections:
        return None
    parts = split_name_line(sections[0].text)
    if parts is None:
        return None
    body = ""
    if with_body:
        described = [s for s in sections[1:] if s.heading.strip().upper() == "DESCRIPTION"]
        chosen = described[0] if described else (sections[2] if len(sections) > 2 else None)
        body = chosen.text if chosen else ""
    return ManPage(key, parts[0], parts[1], body)


def _canonical(path: Path, lang_root: Path) -> str | None:
    """The key of the page a file really is: symlinks and ``.so`` stubs lead to their target."""
    real = path.resolve()
    try:
        relative = real.relative_to(lang_root.resolve())
    except ValueError:
        return None
    match = _FILE.match(relative.name)
    if match is None or len(relative.parts) != 2:
        return None
    key = f"{relative.parts[0]}/{match.group('name')}.{match.group('section')}"
    try:
        target = so_target(read_source(real))
    except OSError:
        return None
    if target is not None:
        target_match = _FILE.match(Path(target).name)
        if target_match is None:
            return None
        key = f"{Path(target).parent.name}/{target_match.group('name')}." \
              f"{target_match.group('section')}"
    return key


def _english_file(root: Path, key: str) -> Path | None:
    """The English file of page ``man1/ls.1`` (``man1/ls.1`` or ``man1/ls.1.gz``)."""
    for name in (key, key + ".gz"):
        if (root / name).exists():
            return root / name
    return None


def _page_files(lang_root: Path) -> list[Path]:
    return sorted(p for p in lang_root.glob("man*/*") if p.is_file() and _FILE.match(p.name))


def language_folder(root: Path, lang: str) -> Path | None:
    """The folder holding ``lang``'s translations under ``root`` (``pt`` -> ``pt_BR``)."""
    for name in _FOLDERS.get(lang, (lang,)):
        if (root / name).is_dir():
            return root / name
    return None


@dataclass(frozen=True)
class ManBenchConfig:
    """What :func:`build_manpages` builds.

    Attributes:
        languages: query languages (ISO 639-1; each needs its ``manpages-XX`` package).
        man_root: the manual folder (English pages in ``man_root/man*``, translations in
            ``man_root/<lang>/man*``).
        test_fraction: share of the translated pages held out for evaluation.
        corpus_size: passages in the evaluation corpus (test pages + distractors); None: every
            English page not used for training.
        max_test_pages: cap on the test pages (a small benchmark), None for all.
        passage_words: words per passage.
        seed: the split and the distractor sample.
    """

    languages: tuple[str, ...]
    man_root: Path = MAN_ROOT
    test_fraction: float = 0.5
    corpus_size: int | None = None
    max_test_pages: int | None = None
    passage_words: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "languages", tuple(parse_languages(list(self.languages))))
        if not 0.0 < self.test_fraction <= 1.0:
            raise InputError(f"test_fraction must be in (0, 1], not {self.test_fraction}",
                             param="test_fraction")
        for name in ("corpus_size", "max_test_pages", "passage_words"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be positive, not {value}", param=name)


@dataclass
class ManBenchSummary:
    """Counts of a built benchmark, per language and in total."""

    out: Path
    passages: int = 0
    test_pages: int = 0
    train_pages: int = 0
    distractors: int = 0
    english_pages: int = 0
    languages: dict[str, dict[str, int]] = field(default_factory=dict)
    packages: dict[str, str | None] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready counts (what ``counts.json`` holds)."""
        return {**{k: v for k, v in asdict(self).items() if k != "out"}, "out": str(self.out)}

    def lines(self) -> list[str]:
        """Human-readable counts."""
        out = [f"{self.passages} passages ({self.test_pages} test pages + {self.distractors} "
               f"distractors) from {self.english_pages} English pages; {self.train_pages} "
               "training pages"]
        for lang, counts in self.languages.items():
            out.append(f"{lang}: {counts['test_queries']} test queries, {counts['train_pairs']} "
                       f"training pairs ({counts['translated_pages']} translated pages, "
                       f"{counts['untranslated']} left untranslated, {counts['unmatched']} "
                       "without an English page)")
        out.append(f"written to {self.out}")
        return out


def _package_version(lang: str) -> str | None:
    package = _PACKAGES.get(lang, f"manpages-{lang}")
    try:
        done = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _translations(root: Path, lang: str, english: dict[str, ManPage]
                  ) -> tuple[dict[str, str], dict[str, int]]:
    """Query text per English page key for one language, and what was dropped."""
    folder = language_folder(root, lang)
    if folder is None:
        raise InputError(f"no {lang} manual pages under {root}; install them (apt-get install "
                         f"{_PACKAGES.get(lang, 'manpages-' + lang)})", param="languages")
    queries: dict[str, str] = {}
    counts = {"translated_pages": 0, "untranslated": 0, "unmatched": 0}
    for path in _page_files(folder):
        page = read_page(path, folder)
        if page is None:
            continue
        found = _english_file(root, page.key)
        key = _canonical(found, root) if found else None
        original = english.get(key) if key else None
        if original is None:
            counts["unmatched"] += 1
            continue
        if page.description.casefold() == original.description.casefold():
            counts["untranslated"] += 1
            continue
        counts["translated_pages"] += 1
        queries.setdefault(original.key, page.description)
    return queries, counts


def _write_jsonl(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def build_manpages(config: ManBenchConfig, out: str | Path) -> ManBenchSummary:
    """Build the benchmark into ``out``: ``corpus.jsonl``, ``queries.jsonl``, ``qrels.txt``,
    ``train_pairs.jsonl`` (query, passage, lang, id) and ``counts.json``.

    Raises:
        InputError: for a language without installed pages, no English pages, or a corpus
            size smaller than the test pages.
    """
    root = Path(config.man_root)
    english: dict[str, ManPage] = {}
    for path in _page_files(root):
        if path.is_symlink():
            continue
        page = read_page(path, root, with_body=True)
        if page is not None and so_target(read_source(path)) is None:
            english[page.key] = page
    if not english:
        raise InputError(f"no English manual pages under {root}", param="man_root")
    summary = ManBenchSummary(Path(out), english_pages=len(english),
                              config={**asdict(config), "man_root": str(root)})
    per_lang: dict[str, dict[str, str]] = {}
    for lang in config.languages:
        per_lang[lang], summary.languages[lang] = _translations(root, lang, english)
        summary.packages[lang] = _package_version(lang)
    translated = sorted(set().union(*per_lang.values()))
    rng = random.Random(config.seed)
    rng.shuffle(translated)
    cut = round(len(translated) * config.test_fraction)
    test, train = translated[:cut], translated[cut:]
    if config.max_test_pages is not None:
        test = test[:config.max_test_pages]
    test_set, train_set = set(test), set(train)
    others = sorted(k for k in english if k not in test_set and k not in train_set)
    size = config.corpus_size if config.corpus_size is not None else len(test) + len(others)
    if size < len(test):
        raise InputError(f"corpus_size {size} is smaller than the {len(test)} test pages; "
                         "raise it or cap max_test_pages", param="corpus_size")
    distractors = rng.sample(others, min(size - len(test), len(others)))
    corpus_keys = sorted(test_set | set(distractors))
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    words = config.passage_words
    _write_jsonl(target / "corpus.jsonl", [
        {"id": english[k].id, "title": english[k].title, "text": english[k].passage_text(words)}
        for k in corpus_keys])
    queries, pairs = [], []
    for lang in config.languages:
        chosen = per_lang[lang]
        queries += [{"id": f"{lang}:{english[k].id}", "text": chosen[k], "lang": lang}
                    for k in sorted(test_set) if k in chosen]
        pairs += [{"query": chosen[k], "passage": english[k].passage_text(words), "lang": lang,
                   "id": english[k].id} for k in sorted(train_set) if k in chosen]
        summary.languages[lang]["test_queries"] = sum(1 for k in test_set if k in chosen)
        summary.languages[lang]["train_pairs"] = sum(1 for k in train_set if k in chosen)
    rng.shuffle(pairs)
    _write_jsonl(target / "queries.jsonl", queries)
    _write_jsonl(target / "train_pairs.jsonl", pairs)
    with open(target / "qrels.txt", "w", encoding="utf-8") as handle:
        for query in queries:
            handle.write(f"{query['id']} 0 {query['id'].split(':', 1)[1]} 1\n")
    summary.passages, summary.test_pages = len(corpus_keys), len(test)
    summary.train_pages, summary.distractors = len(train), len(distractors)
    (target / "counts.json").write_text(json.dumps(summary.to_json(), indent=2,
                                                   ensure_ascii=False) + "\n", encoding="utf-8")
    return summary
