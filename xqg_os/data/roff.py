"""Plain text from manual-page sources (roff with the man or mdoc macros), enough for the NAME
line and the start of DESCRIPTION.

Not a typesetter: font changes, special characters, strings and registers are resolved or
dropped, text macros (``.B``, ``.IR``, ``.Nm``, ``.Fl`` ...) keep their words, layout macros
break paragraphs, macro definitions, conditionals and tables are skipped. Sections are found by
position (the first ``.SH`` is NAME in every language) and by name for DESCRIPTION.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# special characters that carry meaning in a sentence; any other \(xx or \[xx] is dropped
_CHARS = {"em": "—", "en": "–", "hy": "-", "mi": "-", "aq": "'", "dq": '"', "lq": '"',
          "rq": '"', "oq": "'", "cq": "'", "bu": "•", "co": "©", "rg": "®", "tm": "™",
          "mu": "×", "de": "°", "ga": "`", "ti": "~", "ha": "^", "rs": "\\", "ba": "|",
          "lh": "<=", "rh": "=>", "<=": "<=", ">=": ">=", "->": "->", "<-": "<-",
          "Fo": "«", "Fc": "»", "fo": "‹", "fc": "›", "Bq": "„", "bq": "‚", "ss": "ß"}
_ACCENTS = {":": "\u0308", "'": "\u0301", "`": "\u0300", "^": "\u0302", "~": "\u0303",
            ",": "\u0327", "o": "\u030a", "v": "\u030c"}
_STRINGS = {"lq": '"', "rq": '"', "R": "®", "Tm": "™", "aq": "'"}
_ESCAPE = re.compile(
    r"\\(?:"
    r"f(?:\[[^\]]*\]|\(..|.)"                       # font: \fB \f(CW \f[CR]
    r"|s[-+]?(?:\d|\(\d\d|\[[^\]]*\])"              # size: \s-1 \s0 \s(12
    r"|\((?P<char>..)"                              # \(em
    r"|\[(?P<named>[^\]]*)\]"                       # \[em]
    r"|\*(?:\((?P<str2>..)|\[(?P<strn>[^\]]*)\]|(?P<str1>.))"  # strings: \*(lq \*[name] \*R
    r"|n(?:\(..|\[[^\]]*\]|.)"                      # registers
    r"|[hvwlLNbxoSDZ]'[^']*'"                       # motions, widths, drawings
    r"|k."                                          # marks
    r"|(?P<plain>.)"                                # \- \e \& \~ ...
    r")")
_PLAIN = {"-": "-", "e": "\\", "\\": "\\", "~": " ", " ": " ", "0": " ", "'": "'", "`": "`",
          ".": ".", "t": " "}
_ALTERNATING = {"BI", "BR", "IB", "IR", "RB", "RI"}
_TEXT_MACROS = {"B", "I", "SM", "SB", "TQ", "OP", "UR", "MT", "SY"}
_BREAKS = {"PP", "P", "LP", "TP", "IP", "HP", "SS", "Sh", "Ss", "Pp", "Lp", "br", "sp", "RS",
           "RE", "nf", "fi", "EX", "EE", "Bl", "El", "It", "Bd", "Ed", "YS", "in", "ti"}
_SKIP_BLOCKS = {"de": "..", "de1": "..", "am": "..", "ig": "..", "TS": ".TE", "EQ": ".EN"}
_MDOC = re.compile(r"^[A-Z][a-z][a-z]?$|^[A-Z][a-z]?[a-z]?$")


def _special(name: str) -> str:
    """A special character by name: ``em`` -> an em dash, ``:a`` -> ä, ``u00E9`` -> é."""
    if name in _CHARS:
        return _CHARS[name]
    if len(name) == 2 and name[0] in _ACCENTS and name[1].isalpha():
        return unicodedata.normalize("NFC", name[1] + _ACCENTS[name[0]])
    if re.fullmatch(r"u[0-9A-Fa-f]{4,5}", name):
        return chr(int(name[1:], 16))
    return ""


def unescape(text: str) -> str:
    """``text`` with roff escapes resolved or removed (``\\fBls\\fR \\- list`` -> ``ls - list``)."""
    def replace(match: re.Match[str]) -> str:
        if match.group("char"):
            return _special(match.group("char"))
        if match.group("named") is not None:
            return _special(match.group("named"))
        string = match.group("str2") or match.group("strn") or match.group("str1")
        if string:
            return _STRINGS.get(string, "")
        plain = match.group("plain")
        if plain is not None:
            return _PLAIN.get(plain, "")
        return ""
    text = re.sub(r'\\".*$', "", text)  # comment to the end of the line
    return _ESCAPE.sub(replace, text)


def _arguments(line: str) -> list[str]:
    """The arguments of a macro line, with double quotes grouping words."""
    return [a[1:-1].replace('""', '"') if a.startswith('"') else a
            for a in re.findall(r'"(?:[^"]|"")*"?|\S+', line)]


def _mdoc_words(macro: str, args: list[str]) -> str:
    """Words of an mdoc line: macro names among the arguments are dropped, ``Fl`` adds a dash."""
    words: list[str] = []
    current = macro
    for arg in args:
        if _MDOC.match(arg) and arg not in ("A", "I", "Ok", "No") and len(arg) <= 3:
            current = arg
            continue
        words.append("-" + arg if current == "Fl" else arg)
    if current == "Fl" and not args:
        words.append("-")
    return " ".join(words)


@dataclass(frozen=True)
class Section:
    """One ``.SH`` section: its heading and its paragraphs of plain text."""

    heading: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        """The paragraphs joined by spaces."""
        return " ".join(self.paragraphs)


def parse_sections(source: str) -> list[Section]:
    """Split a page into sections of plain-text paragraphs (see the module docstring)."""
    sections: list[Section] = []
    heading: str | None = None
    paragraphs: list[str] = []
    words: list[str] = []
    skip_until: str | None = None
    name = ""  # mdoc: the page's name, which a bare .Nm repeats

    def flush_paragraph() -> None:
        text = re.sub(r"\s+", " ", " ".join(words)).strip()
        if text:
            paragraphs.append(text)
        words.clear()

    def flush_section() -> None:
        flush_paragraph()
        if heading is not None:
            sections.append(Section(heading, tuple(paragraphs)))
        paragraphs.clear()

    for raw in source.splitlines():
        line = raw.rstrip()
        if skip_until is not None:
            if line.strip().startswith(skip_until):
                skip_until = None
            continue
        if not line.startswith((".", "'")):
            words.append(unescape(line))
            continue
        parts = line[1:].strip().split(None, 1)
        if not parts or parts[0].startswith('\\"'):
            continue
        macro, rest = parts[0], (parts[1] if len(parts) > 1 else "")
        if macro in _SKIP_BLOCKS:
            skip_until = _SKIP_BLOCKS[macro]
            continue
        if macro in ("SH", "Sh"):
            flush_section()
            heading = re.sub(r"\s+", " ", " ".join(unescape(a) for a in _arguments(rest)))
            continue
        if macro in _BREAKS:
            flush_paragraph()
            if macro in ("IP", "It", "TQ") and rest:
                words.append(unescape(_arguments(rest)[0]))
            continue
        args = [unescape(a) for a in _arguments(rest)]
        if macro in _ALTERNATING:
            words.append("".join(args))
        elif macro in _TEXT_MACROS:
            words.append(" ".join(args))
        elif macro == "Nd":
            words.append("- " + " ".join(args))
        elif macro == "Nm":
            name = name or (args[0] if args else "")
            words.append(" ".join(args) if args else name)
        elif _MDOC.match(macro) and macro not in ("TH", "Dd", "Dt", "Os"):
            words.append(_mdoc_words(macro, args))
    flush_section()
    return sections


def read_source(path: str | Path) -> str:
    """A page's source (gzip or plain), decoded as UTF-8 with replacement."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.decode("utf-8", errors="replace")


def so_target(source: str) -> str | None:
    """The page a ``.so man1/other.1`` stub includes, or None for a real page."""
    lines = [line.strip() for line in source.splitlines()
             if line.strip() and not line.startswith(('.\\"', "'\\\""))]
    if len(lines) <= 3 and lines and lines[0].startswith(".so "):
        return lines[0][4:].strip()
    return None
