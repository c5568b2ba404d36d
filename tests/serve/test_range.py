"""The range API, byte for byte, through both HTTP paths (plain-ASGI fast path and route)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credwatch.corpus import import_files, open_corpus
from credwatch.corpus.store import open_generation
from credwatch.serve import RangeService, parse_prefix
from credwatch.workspace import Workspace
from tests.serve.conftest import PASSWORDS, AppClient, hibp_file, sha1_hex, write_lines

NTLM_PASSWORD = "8846F7EAEE8FB117AD06BDD830B7586C"


@pytest.fixture(scope="module")
def range_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    tmp_path = tmp_path_factory.mktemp("range")
    serve_ws = Workspace(root=tmp_path / "ws")
    serve_ws.init()
    h = sha1_hex("password")
    neighbours = {f"{h[:5]}{i:035X}": i + 1 for i in range(3)}
    lines = [f"{k}:{v}" for k, v in neighbours.items()]
    import_files(
        serve_ws.corpus_dir,
        [hibp_file(tmp_path / "a.txt"), write_lines(tmp_path / "b.txt", lines)],
        mode="sha1",
        index=None,
    )
    ntlm = write_lines(tmp_path / "n.txt", [f"{NTLM_PASSWORD}:9"])
    import_files(serve_ws.corpus_dir, [ntlm], mode="ntlm", index=None)
    return serve_ws


@pytest.fixture(params=[True, False], ids=["fast-path", "fastapi-route"])
def client(
    request: pytest.FixtureRequest, range_ws: Workspace, make_client: Callable[..., AppClient]
) -> AppClient:
    return make_client(range_ws, fast_range=request.param)


def test_body_is_byte_compatible(client: AppClient) -> None:
    h = sha1_hex("password")
    response = client.get(f"/range/{h[:5]}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    expected = [f"{i:035X}:{i + 1}" for i in range(3)] + [f"{h[5:]}:{PASSWORDS['password']}"]
    # Sorted suffixes, CRLF between lines, no line ending after the last one.
    assert response.content == "\r\n".join(sorted(expected)).encode()
    assert not response.content.endswith(b"\n")
    for line in response.text.split("\r\n"):
        assert re.fullmatch(r"[0-9A-F]{35}:[1-9][0-9]*", line)


@pytest.mark.parametrize("transform", [str.lower, str.upper, lambda s: s[:2].lower() + s[2:]])
def test_prefix_is_case_insensitive(client: AppClient, transform: Callable[[str], str]) -> None:
    h = sha1_hex("hunter2")
    assert client.get(f"/range/{transform(h[:5])}").text == f"{h[5:]}:2"


def test_ntlm_mode(client: AppClient) -> None:
    response = client.get(f"/range/{NTLM_PASSWORD[:5]}", params={"mode": "ntlm"})
    assert response.status_code == 200
    assert response.text == f"{NTLM_PASSWORD[5:]}:9"
    assert len(response.text.split(":")[0]) == 27


def test_valid_prefix_without_hashes_is_an_empty_200(client: AppClient) -> None:
    response = client.get("/range/00000")
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("5BAA", "not in a valid format"),
        ("5BAA61", "not in a valid format"),
        ("5BAG6", "not valid hexadecimal"),
        ("5BA A", "not valid hexadecimal"),
        ("\uff15BAA6", "not valid hexadecimal"),  # fullwidth digit five
        ("5B\u0410A6", "not valid hexadecimal"),  # Cyrillic capital A
        ("5BA\u0665A", "not valid hexadecimal"),  # Arabic-Indic digit five
        ("5B\u0391A6", "not valid hexadecimal"),  # Greek capital alpha
        ("+5BAA", "not valid hexadecimal"),
        ("0x5BA", "not valid hexadecimal"),
    ],
)
def test_malformed_prefix_is_a_400_with_a_short_message(
    client: AppClient, prefix: str, message: str
) -> None:
    response = client.get(f"/range/{prefix}")
    assert response.status_code == 400
    assert message in response.text
    assert len(response.content) < 100
    assert prefix not in response.text


def test_unknown_mode_is_a_400(client: AppClient) -> None:
    response = client.get("/range/5BAA6", params={"mode": "md5"})
    assert response.status_code == 400


def test_etag_last_modified_and_304(client: AppClient) -> None:
    first = client.get("/range/5BAA6")
    etag = first.headers["etag"]
    assert first.headers["last-modified"].endswith("GMT")
    again = client.get("/range/5BAA6", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = client.get("/range/5BAA6", headers={"If-None-Match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    other = client.get("/range/5BAA6", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert client.get("/range/5BAA7").headers["etag"] != etag


def test_add_padding(client: AppClient) -> None:
    h = sha1_hex("password")
    plain = client.get(f"/range/{h[:5]}").text.split("\r\n")
    sizes = set()
    for _ in range(5):
        response = client.get(f"/range/{h[:5]}", headers={"Add-Padding": "true"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        lines = response.text.split("\r\n")
        assert lines[: len(plain)] == plain
        padding = lines[len(plain) :]
        assert all(re.fullmatch(r"[0-9A-F]{35}:0", line) for line in padding)
        assert 1000 + 10 <= len(lines) <= 1000 + 209
        sizes.add(len(response.content))
    assert len(sizes) > 1
    empty = client.get("/range/00000", headers={"Add-Padding": "TRUE"}).text.split("\r\n")
    assert len(empty) >= 1010
    not_padded = client.get(f"/range/{h[:5]}", headers={"Add-Padding": "false"})
    assert not_padded.text.split("\r\n") == plain


def test_huge_headers_are_refused_with_431(client: AppClient) -> None:
    response = client.get("/range/5BAA6", headers={"X-Filler": "A" * 200_000})
    assert response.status_code == 431
    assert b"AAAA" not in response.content
    assert client.get("/range/5BAA6", headers={"X-Filler": "A" * 4_000}).status_code == 200


def test_no_corpus_is_503_not_an_empty_answer(
    workspace: Workspace, make_client: Callable[..., AppClient]
) -> None:
    response = make_client(workspace).get("/range/5BAA6")
    assert response.status_code == 503


@given(st.text(min_size=5, max_size=5))
@settings(max_examples=200, deadline=None)
def test_parse_prefix_accepts_exactly_ascii_hex(text: str) -> None:
    expected = all(c in "0123456789abcdefABCDEF" for c in text)
    value = parse_prefix(text)
    assert (value is not None) == expected
    if value is not None:
        assert value == int(text, 16)
        assert 0 <= value < 1 << 20


def test_layers_without_text_are_rendered_and_cached(range_ws: Workspace, tmp_path: Path) -> None:
    corpus = open_corpus(range_ws.corpus_dir).corpus
    assert corpus is not None
    copy = tmp_path / corpus.name
    shutil.copytree(corpus.path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for entry in manifest["layers"].values():
        entry.pop("text_bytes", None)
        entry.pop("text_offsets_sha256", None)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    plain = open_generation(copy)
    service = RangeService(cache_bytes=1 << 20, padding_rows=0)
    bucket = int(sha1_hex("password")[:5], 16)
    rendered = service.body(plain, "sha1", bucket)
    expected = service.body(corpus, "sha1", bucket)
    assert rendered is not None
    assert expected is not None
    assert rendered.body == expected.body
    assert service.body(plain, "sha1", bucket) is rendered  # from the cache
