"""The main job: corpus -> generated queries -> encode -> augment -> OpenSearch.

:mod:`.config` holds the configuration and the index ``_meta``, :mod:`.sources` where the
generated queries come from, :mod:`.pipeline` the single-process streaming run.
"""

from xqg_os.ingest.config import IngestConfig
from xqg_os.ingest.pipeline import IngestSummary, ingest
from xqg_os.ingest.sources import open_query_source

__all__ = ["IngestConfig", "IngestSummary", "ingest", "open_query_source"]
