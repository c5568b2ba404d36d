"""Health, metrics, the OpenAPI description, and a schemathesis run over the whole API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from credwatch.serve import build_deps, create_server_app
from credwatch.workspace import Workspace
from tests.serve.conftest import AUTH, AppClient


@pytest.fixture
def client(leak_ws: Workspace, make_client: Callable[..., AppClient]) -> AppClient:
    return make_client(leak_ws)


def test_healthz(client: AppClient, workspace: Workspace, make_client) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    document = health.json()
    assert document["status"] == "ok"
    assert document["records"]["sha1"] > 0
    empty = make_client(workspace).get("/healthz")
    assert empty.status_code == 503
    assert empty.json()["status"] == "no_corpus"


def test_metrics_count_requests_and_never_name_a_prefix(client: AppClient) -> None:
    client.get("/range/5BAA6")
    client.get("/range/5BAA6")
    client.get("/range/XYZ")
    client.post("/v1/check", json={"password": "x"})
    text = client.get("/metrics").text
    assert 'credwatch_requests_total{endpoint="range",status="200"} 2.0' in text
    assert 'credwatch_requests_total{endpoint="range",status="400"} 1.0' in text
    assert 'credwatch_requests_total{endpoint="check",status="401"} 1.0' in text
    assert "credwatch_request_duration_seconds_bucket" in text
    assert 'credwatch_corpus_records{mode="sha1"}' in text
    assert "credwatch_corpus_age_seconds" in text
    assert "5BAA6" not in text
    assert "XYZ" not in text


def test_openapi_documents_every_endpoint(client: AppClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/range/{prefix}", "/v1/check", "/v1/policy", "/v1/policy/flags"} <= set(paths)
    assert {"/healthz", "/metrics"} <= set(paths)


@pytest.fixture
def api_schema(leak_ws: Workspace) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", create_server_app(build_deps(leak_ws)))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_schemathesis(case: schemathesis.Case[Any]) -> None:
    headers = dict(AUTH) if case.path.startswith("/v1/") else {}
    response = case.call(headers=headers)
    assert response.status_code < 500 or response.status_code == 503
    excluded: list[schemathesis.CheckFunction] = [schemathesis.checks.not_a_server_error]
    if case.path in ("/v1/check", "/v1/policy/flags"):
        # Whether an address (or a flag key: IP, /24 or /64, address) is valid is the
        # normaliser's decision, which a schema cannot state: 422 may be right.
        excluded.append(schemathesis.checks.positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)
