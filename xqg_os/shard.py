"""Shard ``i/N``: split a corpus across N workers without coordination.

Shard ``i`` of ``N`` takes the passages whose position in the corpus (0-based, in file order,
after malformed lines are dropped) satisfies ``position % N == i``. Outputs are merged by
passage id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from xqg_os.errors import InputError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``0 <= index < count``)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise InputError(f"bad shard {self.index}/{self.count}: need 0 <= i < N")

    @property
    def is_whole(self) -> bool:
        """True for ``0/1``: the whole corpus."""
        return self.count == 1

    def select(self, items: Iterable[T]) -> Iterator[T]:
        """Stream the items of this shard."""
        for position, item in enumerate(items):
            if position % self.count == self.index:
                yield item

    def size(self, total: int) -> int:
        """How many of ``total`` items fall in this shard."""
        return max(0, (total - self.index + self.count - 1) // self.count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(spec: str | None) -> Shard:
    """Parse ``"i/N"`` (``None`` or empty means the whole corpus).

    Raises:
        InputError: for anything but two integers with ``0 <= i < N``.
    """
    if spec is None or not spec.strip():
        return Shard()
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise InputError(f"bad shard {spec!r}: expected i/N, e.g. 0/4", param="shard")
    return Shard(int(match.group(1)), int(match.group(2)))
