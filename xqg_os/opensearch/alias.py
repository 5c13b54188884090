"""Aliases: what an alias points to, refusing index operations that an alias would misdirect,
and the atomic swap that a zero-downtime rebuild ends with.

An application searches an alias (``docs``); a rebuild writes a new index (``docs-20261128...``)
and then moves the alias in one ``_aliases`` request (remove the old indexes, add the new one),
so every search sees either the old index or the new one, never none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from xqg_os.errors import ClusterError, InputError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

__all__ = ["alias_targets", "aliases_of", "refuse_alias", "refuse_alias_of_many", "swap_alias"]


def alias_targets(client: OpenSearch, name: str) -> list[str]:
    """The indexes behind alias ``name``, sorted; empty when ``name`` is no alias (an index, or
    nothing)."""
    response = client.indices.get_alias(name=name, params={"ignore": 404})
    return sorted(key for key, value in response.items()
                  if isinstance(value, dict) and name in (value.get("aliases") or {}))


def aliases_of(client: OpenSearch, index: str) -> list[str]:
    """The aliases that point to the concrete ``index``, sorted."""
    response = client.indices.get_alias(index=index, params={"ignore": 404})
    return sorted((response.get(index) or {}).get("aliases") or {})


def refuse_alias(client: OpenSearch, name: str, action: str, instead: str,
                 param: str | tuple[str, ...] | None = None) -> None:
    """Raise when ``name`` is an alias: ``action`` would hit the indexes behind it, which the
    caller must name itself.

    Args:
        action: what was asked, for the message (``"deleting it"``).
        instead: what to do instead, for the message.
        param: the library parameter(s) the message names, if any.

    Raises:
        InputError: ``name`` is an alias; the message names its indexes.
    """
    targets = alias_targets(client, name)
    if targets:  # "aliased", not "alias": the word may be a parameter that the CLI rewrites
        raise InputError(f"{name!r} is an aliased name for {', '.join(targets)}: {action} "
                         f"refused; {instead}", param=param)


def refuse_alias_of_many(client: OpenSearch, name: str) -> None:
    """Raise when ``name`` is an alias over several indexes: OpenSearch refuses every write
    through it, so say so once, before anything is written. An alias of one index is written
    through; a role that may not read aliases is let through.

    Raises:
        InputError: ``name`` is an alias of two or more indexes (the message names them).
    """
    from xqg_os.opensearch.failures import missing_privilege

    try:
        targets = alias_targets(client, name)
    except Exception as exc:
        if missing_privilege(exc) is None:
            raise
        return
    if len(targets) > 1:
        raise InputError(f"{name!r} is an aliased name for {len(targets)} indexes "
                         f"({', '.join(targets)}), which cannot take writes; name one of them")


def swap_alias(client: OpenSearch, alias: str, new_index: str,
               old_indexes: Sequence[str] = (), remove_index: str | None = None) -> None:
    """Point ``alias`` at ``new_index`` only, in one atomic ``_aliases`` request.

    Args:
        alias: the alias to move (created when it does not exist).
        new_index: the index it points to afterwards.
        old_indexes: the indexes it points to now (as :func:`alias_targets` read them); the
            request fails, changing nothing, if another client moved the alias meanwhile.
        remove_index: a concrete index named ``alias`` to delete in the same request (turning
            an index into an alias of its successor without a moment with neither).

    Raises:
        ClusterError: the node refused the request (nothing changed).
    """
    from opensearchpy import exceptions

    from xqg_os.opensearch.index import _reason

    actions: list[dict[str, dict[str, str]]] = [
        {"remove": {"index": old, "alias": alias}} for old in old_indexes if old != new_index]
    if remove_index:
        actions.append({"remove_index": {"index": remove_index}})
    actions.append({"add": {"index": new_index, "alias": alias}})
    try:
        client.indices.update_aliases(body={"actions": actions})
    except exceptions.TransportError as exc:
        raise ClusterError(f"moving alias {alias!r} to {new_index!r} was refused (nothing "
                           f"changed): {exc.error} {_reason(exc)}".rstrip()) from None

