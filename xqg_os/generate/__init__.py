"""Query generation: generators behind one :class:`QueryGenerator` protocol (HF seq2seq,
OpenAI-compatible endpoint, precomputed file), the resumable :class:`QueryStore`, and the
:func:`run_generation` stage that joins them.

Importing this package is light: torch and transformers load only when a seq2seq generator is
built (:func:`make_generator`).
"""

from xqg_os.generate.base import (
                                  DEFAULT_MODEL,
                                  DEFAULT_TEMPLATE,
                                  DecodingConfig,
                                  GeneratedQueries,
                                  QueryGenerator,
                                  QueryRequest,
                                  render_prompt,
)
from xqg_os.generate.factory import GENERATORS, GeneratorSpec, make_generator
from xqg_os.generate.runner import (
    GenerateJob,
    GenerationSummary,
    generate_queries,
    run_generation,
)
from xqg_os.generate.store import QueryStore, find_store

__all__ = [
                                  "DEFAULT_MODEL",
                                  "DEFAULT_TEMPLATE",
                                  "GENERATORS",
                                  "DecodingConfig",
                                  "GenerateJob",
                                  "GeneratedQueries",
                                  "GenerationSummary",
                                  "GeneratorSpec",
                                  "QueryGenerator",
                                  "QueryRequest",
                                  "QueryStore",
                                  "find_store",
    "generate_queries",
                                  "make_generator",
                                  "render_prompt",
                                  "run_generation",
]
