"""Evaluation: standard metrics through ir-measures, R@kt as XOR-TyDi defines it, per-language
tables with macro averages, and paired significance tests between systems.

Typical use::

    from xqg_os.evaluate import EvalConfig, evaluate_runs
    report = evaluate_runs({"dense": run_a, "xqg": run_b}, queries, qrels=qrels,
                           answers=answers, passages_text=texts,
                           config=EvalConfig(metrics=("nDCG@10", "R@100"), kt=(2000, 5000)))
    print(report.to_markdown())
"""

from xqg_os.evaluate.core import EvalConfig, evaluate_runs, write_runs
from xqg_os.evaluate.metrics import parse_metric, parse_metrics, per_query_metrics
from xqg_os.evaluate.report import ALL, MACRO, Comparison, EvalReport
from xqg_os.evaluate.significance import (
    CORRECTIONS,
    TESTS,
    adjust_pvalues,
    paired_pvalue,
    paired_t_pvalue,
    permutation_pvalue,
)
from xqg_os.evaluate.tokenizer import (
    WordTokenizer,
    fallback_word_tokenizer,
    install_punkt_from_package,
    resolve_word_tokenizer,
)
from xqg_os.evaluate.xor_recall import (
    YES_NO_ANSWERS,
    PassageTokens,
    kt_hits,
    kt_hits_from_tokens,
    kt_metric_name,
    per_query_kt,
    span_answers,
)

__all__ = [
    "ALL", "CORRECTIONS", "MACRO", "TESTS", "YES_NO_ANSWERS", "Comparison", "EvalConfig",
    "EvalReport", "PassageTokens", "WordTokenizer", "adjust_pvalues", "evaluate_runs",
    "fallback_word_tokenizer", "install_punkt_from_package", "kt_hits", "kt_hits_from_tokens",
    "kt_metric_name", "paired_pvalue", "paired_t_pvalue", "parse_metric", "parse_metrics",
    "per_query_kt", "per_query_metrics", "permutation_pvalue", "resolve_word_tokenizer",
    "span_answers", "write_runs",
]
