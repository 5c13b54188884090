"""A tiny articles application on opensearch-py that adds xQG to the index it already has.

:mod:`.articles` owns the application's index (its own mapping and documents),
:mod:`.search` serves searches (async k-NN pages with a filter, hybrid BM25 + k-NN), and
``python -m examples.articles_app`` runs both steps; see the README beside this file.
"""
