"""The bad-input catalogue: things a careless user types, each of which must end in one clear
line and a non-zero exit, never a traceback (run by tests/test_bad_inputs.py).

A case is its command line (after ``xqg-os``), the exit code it must end with, and a fragment
of its message line: the first line of output, or for click's usage errors (exit 2) the
``Error:`` line after click's ``Usage:``/``Try`` preamble. Placeholders in the command line:
``{tmp}`` the case's own folder (also the working folder), ``{S}`` the bundled sample,
``{index}`` an index name of the case, ``{url}`` the node, ``{readonly}`` a folder path that
cannot be created. Cases with ``node`` need the real node (``XQG_OPENSEARCH_URL``).

Print the catalogue with what each case prints today:
``python -m tests.bad_inputs --markdown`` (node cases run when XQG_OPENSEARCH_URL is set).
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.bad_input_setups import (
    NOT_JSON,
    NOT_UTF8,
    NOT_UTF8_QUERIES,
    SAMPLE,
    Names,
    Setup,
    alias,
    cleanup,
    files,
    index_of_dim,
    query_store,
    tls_server,
    unwritable,
)

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there
TIMEOUT_S = 300
PROGRESS = re.compile(r"[^:]*: +(\d+%\||\d+\w* \[)")  # a tqdm bar: "ingest:  40%|" "0doc ["


@dataclass(frozen=True)
class Case:
    """One bad input.

    Args:
        id: a short name.
        argv: the command line after ``xqg-os``, with placeholders (see the module's docstring).
        code: the exit code it must end with (never 0).
        first: a fragment its message line must contain.
        setup: what to prepare first (files, indexes).
        node: whether it needs the real node.
        warnings: whether notices (lines starting with ``warning:``, ``note:`` or
            ``notice:``) may come before the message.
        absent: text that must appear nowhere in the output (a password ...).
        known: why it fails today and who is fixing it (an expected failure until then).
    """

    id: str
    argv: tuple[str, ...]
    code: int
    first: str
    setup: Setup | None = None
    node: bool = False
    warnings: bool = False
    absent: tuple[str, ...] = ()
    known: str | None = None


def case(id: str, command: str, code: int, first: str, **kwargs: object) -> Case:
    """A :class:`Case` from a command line written as one string (split on spaces)."""
    return Case(id, tuple(command.split()), code, first, **kwargs)  # type: ignore[arg-type]


S = "--corpus {S}/corpus.jsonl"
EVAL = "--queries {S}/queries.jsonl --qrels {S}/qrels.txt"
RANGE = "is not in the range"
FINITE = "is not a finite number"
NODE = {"node": True}
GEN = "generate --generator precomputed --precomputed {S}/precomputed_queries.jsonl --n 2"
CASES: tuple[Case, ...] = (
    # values out of range, refused by the option parser
    case("ingest-chunk-size-0", f"ingest {S} --index {{index}} --chunk-size 0", 2, RANGE),
    case("ingest-batch-size-0", f"ingest {S} --index {{index}} --batch-size 0", 2, RANGE),
    case("ingest-alpha-nan", f"ingest {S} --index {{index}} --alpha nan", 2, FINITE),
    case("ingest-alpha-2", f"ingest {S} --index {{index}} --alpha 2", 2, RANGE),
    case("ingest-max-chunk-mb-0", f"ingest {S} --index {{index}} --max-chunk-mb 0", 2, RANGE),
    case("ingest-max-retries-negative", f"ingest {S} --index {{index}} --max-retries -1", 2,
         RANGE),
    case("ingest-m-1", f"ingest {S} --index {{index}} --m 1", 2, RANGE),
    case("ingest-concurrency-0", f"ingest {S} --index {{index}} --concurrency 0", 2, RANGE),
    case("ingest-shards-0", f"ingest {S} --index {{index}} --shards 0", 2, RANGE),
    case("ingest-encode-batch-size-0", f"ingest {S} --index {{index}} --encode-batch-size 0", 2,
         RANGE),
    case("ingest-n-text", f"ingest {S} --index {{index}} --n five", 2, "is not a valid integer"),
    case("generate-n-0", f"{GEN} {S} --out {{tmp}}/q --n 0", 2, RANGE),
    case("generate-temperature-nan", f"{GEN} {S} --out {{tmp}}/q --temperature nan", 2, FINITE),
    case("generate-top-p-0", f"{GEN} {S} --out {{tmp}}/q --top-p 0", 2, RANGE),
    case("generate-batch-size-0", f"{GEN} {S} --out {{tmp}}/q --batch-size 0", 2, RANGE),
    case("evaluate-significance-nan", f"evaluate {EVAL} --significance nan", 2, FINITE),
    case("evaluate-significance-inf", f"evaluate {EVAL} --significance inf", 2, RANGE),
    case("evaluate-depth-0", f"evaluate {EVAL} --depth 0", 2, RANGE),
    case("search-depth-0", "search --index {index} --depth 0 tower", 2, RANGE),
    case("search-ef-search-0", "search --index {index} --ef-search 0 tower", 2, RANGE),
    case("index-create-dim-0", "index create --index {index} --dim 0", 2, RANGE),
    case("index-create-m-1", "index create --index {index} --dim 8 --m 1", 2, RANGE),
    case("cluster-port-0", "cluster status --port 0", 2, RANGE),
    case("data-test-fraction-nan", "data manpages --out {tmp}/m --test-fraction nan", 2, FINITE),
    case("study-train-lr-inf", f"study train {S} {EVAL} --pairs p.jsonl --checkpoints {{tmp}}/c "
         "--out {tmp}/s.csv --lr inf", 2, FINITE),
    case("study-sweep-depth-0", f"study sweep {S} {EVAL} --out {{tmp}}/s.csv --depth 0", 2,
         RANGE),
    # outputs that cannot be written, refused before any work
    case("ingest-summary-json-is-folder", f"ingest {S} --index {{index}} --summary-json {{tmp}}",
         2, "is a directory"),
    case("ingest-summary-json-under-file",
         f"ingest {S} --index {{index}} --summary-json {{tmp}}/afile/s.json", 2,
         "afile' is a file", setup=files(afile="")),
    case("ingest-save-vectors-is-file", f"ingest {S} --index {{index}} --save-vectors "
         "{tmp}/afile", 2, "is a file", setup=files(afile="")),
    case("generate-out-is-file", f"{GEN} {S} --out {{tmp}}/afile", 2, "is a file",
         setup=files(afile="")),
    case("generate-out-read-only", f"{GEN} {S} --out {{readonly}}", 2, "cannot create"),
    case("evaluate-out-under-file", f"evaluate {EVAL} --out {{tmp}}/afile/eval", 2,
         "afile' is a file", setup=files(afile="")),
    case("data-out-read-only", "data manpages --out {readonly}", 2, "cannot create"),
    case("study-sweep-cache-is-file", f"study sweep {S} {EVAL} --out {{tmp}}/s.csv --cache "
         "{tmp}/afile", 2, "is a file", setup=files(afile="")),
    case("study-report-out-read-only", "study report --csv {tmp}/s.csv --out {readonly}/r.md", 2,
         "cannot create", setup=files(s__csv="")),
    # input files: missing, not UTF-8, malformed
    case("generate-corpus-missing", f"{GEN} --corpus {{tmp}}/nope.jsonl --out {{tmp}}/q", 1,
         "nope.jsonl"),
    case("generate-corpus-not-utf8", f"{GEN} --corpus {{tmp}}/c.jsonl --out {{tmp}}/q", 1,
         "UTF-8", setup=files(c__jsonl=NOT_UTF8)),
    case("generate-corpus-not-json", f"{GEN} --corpus {{tmp}}/c.jsonl --out {{tmp}}/q", 1,
         "c.jsonl:1: malformed line", setup=files(c__jsonl=NOT_JSON)),
    case("generate-unknown-language", f"{GEN} {S} --out {{tmp}}/q --languages xx", 1, "xx"),
    case("generate-precomputed-missing", f"generate {S} --generator precomputed --precomputed "
         "{tmp}/nope.jsonl --out {tmp}/q", 1, "nope.jsonl"),
    case("generate-model-path-missing", f"generate {S} --generator seq2seq --model {{tmp}}/nope "
         "--out {tmp}/q", 1, "does not exist"),
    case("evaluate-queries-missing", "evaluate --queries {tmp}/nope.jsonl", 2, "does not exist"),
    case("evaluate-queries-not-utf8", "evaluate --queries {tmp}/q.jsonl --run {tmp}/r.trec", 1,
         "UTF-8", setup=files(q__jsonl=NOT_UTF8_QUERIES, r__trec="q1 Q0 p1 1 1.0 x\n")),
    case("evaluate-qrels-malformed", f"evaluate {EVAL.split(' --qrels')[0]} --qrels "
         "{tmp}/bad.qrels --run {tmp}/r.trec", 1, "bad.qrels",
         setup=files(bad__qrels="ja-01 p01\n", r__trec="ja-01 Q0 p01 1 1.0 x\n")),
    case("evaluate-run-missing", f"evaluate {EVAL} --run {{tmp}}/nope.trec", 1, "nope.trec"),
    case("evaluate-vectors-missing", f"evaluate {EVAL} --vectors {{tmp}}/nope", 1,
         "nope holds no saved vectors"),
    case("generate-corpus-gz-not-utf8", f"{GEN} --corpus {{tmp}}/c.jsonl.gz --out {{tmp}}/q", 1,
         "not UTF-8", setup=files(c__jsonl__gz=gzip.compress(NOT_UTF8))),
    case("generate-template-missing", f"generate {S} --template @{{tmp}}/nope.txt --out "
         "{tmp}/q", 1, "nope.txt: No such file or directory"),
    case("evaluate-kt-not-numbers", f"evaluate {EVAL} --kt abc --run {{tmp}}/r.trec", 1,
         "--kt takes comma-separated integers", setup=files(r__trec="ja-01 Q0 p01 1 1.0 x\n")),
    case("evaluate-run-malformed", f"evaluate {EVAL} --run {{tmp}}/r.trec", 1,
         "r.trec:1: malformed line", setup=files(r__trec="ja-01 Q0 p01 1\n")),
    case("evaluate-run-empty-path", f"evaluate {EVAL} --run X=", 1,
         "run file 'X=': give NAME=PATH or PATH"),
    case("study-sweep-alpha-nan", f"study sweep {S} {EVAL} --out {{tmp}}/s.csv --alpha nan", 1,
         "alpha values must be numbers in [0, 1], not nan"),
    case("study-sweep-n-negative", f"study sweep {S} {EVAL} --out {{tmp}}/s.csv --n -1", 1,
         "n values must be non-negative integers"),
    case("study-report-not-a-study-csv", "study report --csv {tmp}/s.csv", 1,
         "is not a study table", setup=files(s__csv="a,b\n1,2\n")),
    case("ingest-shard-out-of-range", f"ingest {S} --index x --shard 3/2", 1, "bad shard 3/2"),
    case("ingest-unknown-language", f"ingest {S} --index x --languages xx", 1,
         "unknown language code(s): xx"),
    case("password-file-missing", "index info x --user u --password-file {tmp}/nope.txt", 1,
         "cannot read the password file"),
    case("study-report-csv-missing", "study report --csv {tmp}/nope.csv", 2, "does not exist"),
    # the cluster: unreachable, TLS, credentials
    case("index-info-unreachable", f"index info x --url {UNREACHABLE}", 1, "127.0.0.1:9"),
    case("index-delete-unreachable", f"index delete x --url {UNREACHABLE}", 1, "127.0.0.1:9"),
    case("index-create-unreachable", f"index create --index x --dim 8 --url {UNREACHABLE}", 1,
         "127.0.0.1:9"),
    case("search-unreachable", f"search --index x --url {UNREACHABLE} tower", 1, "127.0.0.1:9"),
    case("ingest-unreachable", f"ingest {S} --index x --url {UNREACHABLE}", 1, "127.0.0.1:9"),
    case("url-password-not-echoed", "index info x --url http://me:s3cr3t@127.0.0.1:9", 1,
         "127.0.0.1:9", warnings=True, absent=("s3cr3t",)),
    case("ca-certs-missing", "index info x --url https://127.0.0.1:9 --ca-certs "
         "{tmp}/nope.pem", 1, "CA file"),
    case("tls-self-signed-without-ca", "index info x --url https://{tls}", 1, "certificate",
         setup=tls_server),
    case("http-to-tls-port", "index info x --url http://{tls}", 1, "TLS", setup=tls_server),
    # on the node
    case("index-info-missing", "index info {index}", 1, "does not exist", **NODE),
    case("index-delete-missing", "index delete {index}", 1, "does not exist", **NODE),
    case("search-missing-index", "search --index {index} tower", 1, "does not exist", **NODE),
    case("evaluate-missing-index", f"evaluate {EVAL} --index {{index}}", 1, "does not exist",
         **NODE),
    case("index-create-uppercase", "index create --index Upper --dim 8", 1, "invalid index name",
         **NODE),
    case("index-create-exists", "index create --index {index} --dim 8", 1, "exists",
         setup=index_of_dim(8), **NODE),
    case("ingest-wrong-dimension", f"ingest {S} --index {{index}} --encoder all-MiniLM-L6-v2",
         1, "384-d vectors", setup=index_of_dim(8), **NODE),
    case("ingest-encoder-missing", f"ingest {S} --index {{index}} --encoder {{tmp}}/nope", 1,
         "nope", **NODE),
    case("ingest-corpus-missing", "ingest --corpus {tmp}/nope.jsonl --index {index}", 2,
         "does not exist"),
    case("ingest-corpus-not-utf8", "ingest --corpus {tmp}/c.jsonl --index {index} --encoder "
         "all-MiniLM-L6-v2", 1, "UTF-8", setup=files(c__jsonl=NOT_UTF8), **NODE),
    case("ingest-generated-missing", f"ingest {S} --index {{index}} --generated {{tmp}}/nope", 1,
         "nope", **NODE),
    case("ingest-languages-not-in-store", f"ingest {S} --index {{index}} --generated {{tmp}}/q "
         "--languages ko --n 2 --encoder all-MiniLM-L6-v2", 1, "ko",
         setup=query_store("ja,ru"), **NODE),
    case("ingest-generated-unwritable", f"ingest {S} --index {{index}} --generator-model "
         "{tmp}/nope --generated {tmp}/afile/q", 1, "--generated: cannot create",
         setup=files(afile=""), **NODE),
    case("index-delete-alias", "index delete {index}", 1, "alias", setup=alias, **NODE),
    case("ingest-recreate-alias", f"ingest {S} --index {{index}} --recreate --encoder "
         "all-MiniLM-L6-v2", 1, "alias", setup=alias, **NODE),
)


@dataclass
class Outcome:
    """What a case printed and its exit code; ``message`` is its message line."""

    code: int
    output: str
    lines: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return self.lines[0] if self.lines else ""


def message_lines(output: str, warnings: bool) -> list[str]:
    """The lines that say what went wrong: without click's ``Usage:``/``Try`` preamble,
    progress bars and blank lines, and (``warnings``) without leading notices."""
    lines = [line for line in re.split(r"[\r\n]+", output)
             if line.strip() and not PROGRESS.match(line)]
    if lines and lines[0].startswith("Usage: "):
        lines = [line for line in lines[1:] if not line.startswith("Try '")]
    while warnings and lines and lines[0].startswith(("warning:", "note:", "notice:")):
        lines.pop(0)
    return lines


def run_case(one: Case, tmp: Path, url: str) -> Outcome:
    """Run ``one`` as a subprocess in ``tmp`` (setup first, node indexes cleaned up after)."""
    names = Names(url=url, index=f"xqg-bad-{one.id}-{uuid.uuid4().hex[:6]}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONUNBUFFERED": "1", "XQG_OPENSEARCH_URL": url if one.node else UNREACHABLE}
    try:
        if one.setup is not None:
            one.setup(tmp, names)
        values = {"tmp": str(tmp), "S": str(SAMPLE), "index": names.index, "url": url,
                  "readonly": unwritable(tmp), **names.values}
        argv = [arg.format(**values) for arg in one.argv]
        done = subprocess.run([sys.executable, "-m", "xqg_os.cli", *argv], cwd=tmp, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              timeout=TIMEOUT_S)
    finally:
        for close in names.closing:
            close()
        if one.node:
            cleanup(names)
    return Outcome(done.returncode, done.stdout, message_lines(done.stdout, one.warnings))


def problems(one: Case, outcome: Outcome) -> list[str]:
    """What is wrong with ``outcome`` for ``one`` (empty: the case passes)."""
    found = []
    if outcome.code != one.code:
        found.append(f"exit code {outcome.code}, expected {one.code}")
    if "Traceback" in outcome.output:
        found.append("a traceback")
    if one.first not in outcome.message:
        found.append(f"the message line lacks {one.first!r}")
    if len(outcome.lines) != 1:
        found.append(f"{len(outcome.lines)} lines of output, expected one")
    found += [f"{text!r} is printed" for text in one.absent if text in outcome.output]
    return found


def markdown(url: str | None) -> str:
    """The catalogue as a Markdown table: command, exit code, message line (node cases only
    with ``url``)."""
    rows = ["| case | command | exit | message | ok |", "|---|---|---|---|---|"]
    for one in CASES:
        if one.node and not url:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            outcome = run_case(one, Path(tmp), url or UNREACHABLE)
        wrong = problems(one, outcome)
        command = " ".join(("xqg-os", *one.argv)).replace("|", "\\|")
        message = outcome.message.replace("|", "\\|")[:160]
        verdict = "yes" if not wrong else "no: " + "; ".join(wrong)
        if wrong and one.known:
            verdict += f" (known: {one.known})"
        rows.append(f"| {one.id} | `{command}` | {outcome.code} | {message} | {verdict} |")
    return "\n".join(rows)


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m tests.bad_inputs --markdown")
    print(markdown(os.environ.get("XQG_OPENSEARCH_URL")))
