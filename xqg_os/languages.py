"""Languages by ISO 639-1 code, with the English names that query-generation prompts use."""

from __future__ import annotations

from xqg_os.errors import InputError

# XOR-TyDi's seven query languages first, then other common ones.
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "Arabic", "bn": "Bengali", "fi": "Finnish", "ja": "Japanese", "ko": "Korean",
    "ru": "Russian", "te": "Telugu",
    "en": "English", "de": "German", "es": "Spanish", "fr": "French", "it": "Italian",
    "nl": "Dutch", "pl": "Polish", "pt": "Portuguese", "sv": "Swedish", "da": "Danish",
    "no": "Norwegian", "tr": "Turkish", "zh": "Chinese", "th": "Thai", "hi": "Hindi",
    "id": "Indonesian", "sw": "Swahili", "vi": "Vietnamese", "he": "Hebrew", "fa": "Persian",
    "uk": "Ukrainian", "cs": "Czech", "el": "Greek", "hu": "Hungarian", "ro": "Romanian",
    "ms": "Malay", "ta": "Tamil", "ur": "Urdu", "km": "Khmer", "tl": "Tagalog",
}

XOR_TYDI_LANGUAGES: tuple[str, ...] = ("ar", "bn", "fi", "ja", "ko", "ru", "te")


def parse_languages(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Parse ``"ar,bn,fi"`` (or a list) into validated, de-duplicated ISO codes, in order.

    Raises:
        InputError: naming unknown codes and listing the supported ones.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    codes: list[str] = []
    for item in items:
        code = item.strip().lower()
        if code and code not in codes:
            codes.append(code)
    unknown = [code for code in codes if code not in LANGUAGE_NAMES]
    if unknown:
        raise InputError(f"unknown language code(s): {', '.join(unknown)}; supported: "
                         + ", ".join(sorted(LANGUAGE_NAMES)))
    if not codes:
        raise InputError("no languages given")
    return codes


def language_name(code: str) -> str:
    """English name of an ISO 639-1 code."""
    try:
        return LANGUAGE_NAMES[code]
    except KeyError:
        raise InputError(f"unknown language code {code!r}; supported: "
                         + ", ".join(sorted(LANGUAGE_NAMES))) from None
