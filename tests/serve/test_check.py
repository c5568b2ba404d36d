"""POST /v1/check: token, answers equal to the index's, bad input, no plaintext anywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from credwatch.corpus import import_files
from credwatch.index import ExposureIndex
from credwatch.workspace import Workspace
from tests.serve.conftest import AUTH, TOKEN, AppClient, hibp_file

CANARY_PASSWORD = "canary-pw-7f3c1e"
CANARY_EMAIL = "canary-7f3c1e@nifty.com"


@pytest.fixture
def client(leak_ws: Workspace, make_client: Callable[..., AppClient]) -> AppClient:
    return make_client(leak_ws)


@pytest.mark.parametrize(
    "body",
    [
        {"password": "password"},
        {"password": "never-leaked"},
        {"email": "taro@nifty.com", "password": "hunter2"},
        {"email": "Taro@NIFTY.com", "password": "hunter2"},
        {"email": "taro@nifty.com", "password": "password"},
        {"email": "hanako@biglobe.ne.jp", "password": "password"},
        {"email": "nobody@example.jp", "password": "hunter2"},
    ],
)
def test_answers_match_the_index(
    client: AppClient, leak_ws: Workspace, body: dict[str, str]
) -> None:
    response = client.post("/v1/check", json=body, headers=AUTH)
    assert response.status_code == 200
    with ExposureIndex.open(leak_ws) as index:
        expected = index.check(email=body.get("email"), password=body["password"])
    assert response.json() == {
        "email_exposed": expected.email_exposed,
        "pair_exposed": expected.pair_exposed,
        "password_count": expected.password_count,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
    ],
)
def test_token_is_required(client: AppClient, headers: dict[str, str]) -> None:
    response = client.post("/v1/check", json={"password": "password"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_no_token_configured_refuses_everything(
    workspace: Workspace, make_client: Callable[..., AppClient]
) -> None:
    response = make_client(workspace).post("/v1/check", json={"password": "x"}, headers=AUTH)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"{not json " + CANARY_PASSWORD.encode(), 400),
        (b'["' + CANARY_PASSWORD.encode() + b'"]', 422),
        (b'{"pass": "' + CANARY_PASSWORD.encode() + b'"}', 422),
        (b'{"password": 12345}', 422),
        (b'{"email": "x@y.jp"}', 422),
        (b'{"email": "' + CANARY_EMAIL.encode() + b'", "password": null}', 422),
        (b'{"email": "not-an-address-' + CANARY_PASSWORD.encode() + b'", "password": "x"}', 422),
        (b'{"password": "' + b"x" * 2000 + b'"}', 422),
        (b"\xff\xfe\x00", 400),
        (b'{"password": "' + b"x" * 70_000 + b'"}', 413),
    ],
)
def test_malformed_bodies_are_refused_without_echo(
    client: AppClient, content: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/v1/check", content=content, headers={**AUTH, "Content-Type": "application/json"}
        )
    assert response.status_code == status
    assert CANARY_PASSWORD not in response.text
    assert CANARY_EMAIL not in response.text
    assert CANARY_PASSWORD not in caplog.text


def test_plaintext_is_never_logged_or_stored(
    client: AppClient, leak_ws: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for body in (
            {"email": CANARY_EMAIL, "password": CANARY_PASSWORD},
            {"password": CANARY_PASSWORD},
        ):
            assert client.post("/v1/check", json=body, headers=AUTH).status_code == 200
        metrics = client.get("/metrics").text
    assert CANARY_PASSWORD not in caplog.text + metrics
    assert CANARY_EMAIL not in caplog.text + metrics
    for path in leak_ws.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert CANARY_PASSWORD.encode() not in data, path
            assert CANARY_EMAIL.encode() not in data, path


def test_without_index_snapshot_it_cannot_check(
    serve_ws: Workspace, tmp_path: Path, make_client: Callable[..., AppClient]
) -> None:
    import_files(serve_ws.corpus_dir, [hibp_file(tmp_path / "a.txt")], mode="sha1", index=None)
    response = make_client(serve_ws).post("/v1/check", json={"password": "x"}, headers=AUTH)
    assert response.status_code == 503
    assert "could not check" in response.text
