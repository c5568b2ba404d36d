"""The OSV API (``https://api.osv.dev``): ``/v1/querybatch`` then ``/v1/vulns/{id}``.

For machines online.  The client is injected (``httpx.Client``), so tests use
``httpx.MockTransport`` and operators can set proxies, timeouts and CA bundles.
``querybatch`` answers with advisory ids only; each distinct id is then fetched once
and parsed like an offline record (so matching is identical online and offline).

Example:
    >>> with httpx.Client(timeout=30) as client:               # doctest: +SKIP
    ...     load = OsvApi(client).load(components)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from credwatch.errors import ExternalServiceError
from credwatch.supply.interface import AdvisoryLoad
from credwatch.supply.model import Component
from credwatch.supply.osv_offline import accept_record

__all__ = ["OSV_API_URL", "OsvApi"]

OSV_API_URL = "https://api.osv.dev"
_BATCH = 1000  # the API's limit of queries per batch
_MAX_PAGES = 50


def _query(component: Component) -> dict[str, Any] | None:
    if component.version is None or component.ecosystem is None:
        return None
    name = component.source_package or component.name
    return {
        "package": {"name": name, "ecosystem": component.ecosystem.osv_name()},
        "version": component.version,
    }


class OsvApi:
    """Advisories from the OSV API.

    Args:
        client: the HTTP client (its base URL is ignored; ``base_url`` is used).
        base_url: the API root.
    """

    name = "osv-api"

    def __init__(self, client: httpx.Client, base_url: str = OSV_API_URL) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.post(f"{self.base_url}/v1/querybatch", json=body)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ExternalServiceError(
                f"OSV API querybatch failed ({type(exc).__name__})",
                hint="check network access to api.osv.dev or use an offline database",
            ) from None
        if not isinstance(data, dict):
            raise ExternalServiceError("OSV API querybatch answered with a non-object")
        return data

    def _ids(self, queries: list[dict[str, Any]]) -> set[str]:
        ids: set[str] = set()
        pending = list(queries)
        for _ in range(_MAX_PAGES):
            if not pending:
                break
            follow: list[dict[str, Any]] = []
            for start in range(0, len(pending), _BATCH):
                chunk = pending[start : start + _BATCH]
                results = self._post({"queries": chunk}).get("results") or []
                for query, result in zip(chunk, results, strict=False):
                    if not isinstance(result, dict):
                        continue
                    ids.update(
                        v["id"]
                        for v in result.get("vulns") or []
                        if isinstance(v, dict) and isinstance(v.get("id"), str)
                    )
                    token = result.get("next_page_token")
                    if isinstance(token, str) and token:
                        follow.append({**query, "page_token": token})
            pending = follow
        return ids

    def load(self, components: Sequence[Component]) -> AdvisoryLoad:
        """Ask the API which advisories concern ``components`` and fetch each one.

        Raises:
            ExternalServiceError: the API failed or answered nonsense.
        """
        seen: set[tuple[str, str, str]] = set()
        queries: list[dict[str, Any]] = []
        for component in components:
            query = _query(component)
            if query is None:
                continue
            key = (query["package"]["ecosystem"], query["package"]["name"], query["version"])
            if key not in seen:
                seen.add(key)
                queries.append(query)
        load = AdvisoryLoad()
        for ident in sorted(self._ids(queries)):
            try:
                response = self.client.get(f"{self.base_url}/v1/vulns/{ident}")
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise ExternalServiceError(
                    f"OSV API could not return {ident} ({type(exc).__name__})"
                ) from None
            accept_record(load, response.content, f"osv-api:{ident}")
        return load
