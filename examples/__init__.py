"""Example applications built on xqg-os, run from the repository root
(``python -m examples.articles_app``); each folder's README says how."""
