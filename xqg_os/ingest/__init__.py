"""The main job: corpus -> generated queries -> encode -> augment -> OpenSearch.

:mod:`.config` holds the configuration and the index ``_meta``, :mod:`.sources` where the
generated queries come from, :mod:`.pipeline` the single-process streaming run.
"""
