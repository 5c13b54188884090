"""Language codes between mteb (ISO 639-3 plus ISO 15924 script, ``"ara-Arab"``) and xqg-os
(ISO 639-1, ``"ar"``)."""

from __future__ import annotations

from typing import Any

from xqg_os.errors import InputError

# ISO 639-1 -> mteb language-script tag, for the languages xqg-os names (xqg_os.languages)
ISO1_TO_MTEB: dict[str, str] = {
    "ar": "ara-Arab", "bn": "ben-Beng", "fi": "fin-Latn", "ja": "jpn-Jpan", "ko": "kor-Hang",
    "ru": "rus-Cyrl", "te": "tel-Telu", "en": "eng-Latn", "de": "deu-Latn", "es": "spa-Latn",
    "fr": "fra-Latn", "it": "ita-Latn", "nl": "nld-Latn", "pl": "pol-Latn", "pt": "por-Latn",
    "sv": "swe-Latn", "da": "dan-Latn", "no": "nob-Latn", "tr": "tur-Latn", "zh": "zho-Hans",
    "th": "tha-Thai", "hi": "hin-Deva", "id": "ind-Latn", "sw": "swa-Latn", "vi": "vie-Latn",
    "he": "heb-Hebr", "fa": "fas-Arab", "uk": "ukr-Cyrl", "cs": "ces-Latn", "el": "ell-Grek",
    "hu": "hun-Latn", "ro": "ron-Latn", "ms": "msa-Latn", "ta": "tam-Taml", "ur": "urd-Arab",
    "km": "khm-Khmr", "tl": "tgl-Latn",
}
# ISO 639-3 individual/macro-language codes that mteb tasks use for the same languages
_ALIASES = {"cmn": "zh", "arb": "ar", "nor": "no", "nno": "no", "swh": "sw", "zsm": "ms",
            "pes": "fa", "fil": "tl", "heb": "he", "yue": "zh"}
ISO3_TO_ISO1: dict[str, str] = {tag.split("-")[0]: code for code, tag in ISO1_TO_MTEB.items()}
ISO3_TO_ISO1.update(_ALIASES)


def to_iso1(tag: str) -> str | None:
    """``"ara-Arab"``, ``"arb_Arab"``, ``"ara"`` or ``"ar"`` -> ``"ar"``; None when unknown."""
    code = tag.replace("_", "-").split("-")[0].lower()
    if code in ISO1_TO_MTEB:
        return code
    return ISO3_TO_ISO1.get(code)


def to_mteb(code: str) -> str:
    """``"ar"`` -> ``"ara-Arab"`` (a tag mteb's task metadata accepts).

    Raises:
        InputError: for a code without a known tag.
    """
    tag = ISO1_TO_MTEB.get(code.lower())
    if tag is None:
        raise InputError(f"no mteb language tag known for {code!r}; use one of "
                         + ", ".join(sorted(ISO1_TO_MTEB)))
    return tag


def subset_query_language(task_metadata: Any, hf_subset: str) -> str | None:
    """The query language of one subset of an mteb task, as ISO 639-1.

    Cross-lingual retrieval tasks (XPQA, MLQA, Belebele, CUREv1) list a subset's languages as
    ``[query language, document language]``; a task with one language list uses its first.
    """
    try:
        tags = task_metadata.hf_subsets_to_langscripts.get(hf_subset)
    except AttributeError:
        return None
    if not tags:
        return None
    return to_iso1(str(tags[0]))
