"""Integration: :class:`AsyncXQGSearcher` over ``AsyncOpenSearch`` answers as the sync searcher
does (same requests, same parsing), encodes off the event loop, and maps errors the same way.
Coroutines run with ``asyncio.run`` (no pytest plugin); a read-only role is a client whose
mapping read is refused as the security plugin refuses it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import pytest

from tests.searchapi_data import QUERIES, ConstantEncoder, ReadOnlyClient, indexed
from xqg_os.encode.base import Encoder
from xqg_os.errors import InputError

T = TypeVar("T")


api_index = pytest.fixture(scope="module")(indexed)


def run(os_url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(client)`` on a fresh ``AsyncOpenSearch`` client, closed afterwards."""
    from opensearchpy import AsyncOpenSearch

    async def main() -> T:
        client = AsyncOpenSearch(os_url)
        try:
            return await work(client)
        finally:
            await client.close()

    return asyncio.run(main())


def ids(hits: Sequence[Any]) -> list[tuple[str, int]]:
    return [(hit.id, hit.rank) for hit in hits]


@pytest.mark.integration
def test_async_answers_as_the_sync_searcher(os_client: Any, os_url: str, api_index: str
                                            ) -> None:
    from xqg_os.search.aio import AsyncXQGSearcher
    from xqg_os.search.knn import XQGSearcher

    sync = XQGSearcher(os_client, api_index)

    async def work(client: Any) -> Any:
        searcher = await AsyncXQGSearcher.create(client, api_index)
        single = await searcher.search(QUERIES[0], k=8)
        page = await searcher.search_page(QUERIES[0], k=8, size=3, from_=3, source=["title"])
        batch = await searcher.batch_search(QUERIES, k=5, batch_size=2)
        vectors = await searcher.search_vectors(await searcher.encode(QUERIES), k=5,
                                                filter={"term": {"lang": "de"}})
        together = await asyncio.gather(*(searcher.search(text, k=5) for text in QUERIES))
        return single, page, batch, vectors, together

    single, page, batch, vectors, together = run(os_url, work)
    expected = sync.search(QUERIES[0], k=8)
    assert ids(single) == ids(expected)
    assert [h.score for h in single] == pytest.approx([h.score for h in expected])
    assert single[0].index == api_index and single[0].source["passage_id"] == single[0].id
    assert ids(page.hits) == ids(expected[3:6]) and page.next_from == 6
    assert all(set(h.source) == {"title"} for h in page.hits)
    assert page.hits[-1].id in page.search_after
    assert [ids(hits) for hits in batch] == [ids(hits) for hits in sync.batch_search(QUERIES, 5)]
    assert [ids(hits) for hits in together] == [ids(hits) for hits in batch]
    assert all(len(hits) == 5 and {h.lang for h in hits} == {"de"} for hits in vectors)


class ThreadRecorder:
    """The tiny encoder, recording the threads that encode queries."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.threads: list[int] = []

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        self.threads.append(threading.get_ident())
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.encode_passages(texts)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


@pytest.mark.integration
def test_encoding_runs_off_the_event_loop(os_client: Any, os_url: str, api_index: str) -> None:
    from xqg_os.search.aio import AsyncXQGSearcher
    from xqg_os.search.knn import XQGSearcher

    recorder = ThreadRecorder(XQGSearcher(os_client, api_index).encoder)
    loop_threads: list[int] = []

    async def work(client: Any) -> Any:
        loop_threads.append(threading.get_ident())
        searcher = await AsyncXQGSearcher.create(client, api_index, encoder=recorder)
        return await searcher.search(QUERIES[1], k=3)

    hits = run(os_url, work)
    assert len(hits) == 3 and recorder.threads
    assert loop_threads[0] not in recorder.threads


@pytest.mark.integration
def test_async_errors_are_the_library_errors(os_url: str, api_index: str) -> None:
    from xqg_os.search.aio import AsyncXQGSearcher

    async def missing(client: Any) -> Any:
        return await AsyncXQGSearcher.create(client, f"{api_index}-missing")

    with pytest.raises(InputError, match="does not exist"):
        run(os_url, missing)

    async def too_deep(client: Any) -> Any:
        searcher = await AsyncXQGSearcher.create(client, api_index)
        return await searcher.search(QUERIES[0], k=5, from_=5)

    with pytest.raises(InputError, match="from_ = 5 is not below k = 5") as info:
        run(os_url, too_deep)
    assert info.value.params == ("from_", "k")


def test_a_read_only_role_needs_the_encoder() -> None:
    from xqg_os.opensearch.failures import PrivilegeError
    from xqg_os.search.aio import AsyncXQGSearcher

    client: Any = ReadOnlyClient(asynchronous=True)
    with pytest.raises(PrivilegeError, match="user 'reader' may not read the mapping") as info:
        asyncio.run(AsyncXQGSearcher.create(client, "docs"))
    assert info.value.params == ("encoder",)
    encoder = ConstantEncoder()
    searcher = asyncio.run(AsyncXQGSearcher.create(client, "docs", encoder=encoder))
    assert searcher.encoder is encoder and searcher.meta == {}
    assert asyncio.run(searcher.encode(["a", "b"])).shape == (2, 4)
