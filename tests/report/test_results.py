"""``credwatch.results``: the latest hunt/supply documents kept for the report."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.errors import InputError, UsageError
from credwatch.results import RESULTS_SCHEMA_VERSION, load_result, result_path, save_result
from credwatch.workspace import Workspace


def test_round_trip_and_replace(workspace: Workspace):
    assert load_result(workspace, "hunt") is None
    path = save_result(workspace, "hunt", {"events": 1, "alerts": []})
    assert path == workspace.root / "results" / "hunt.json"
    save_result(workspace, "hunt", {"events": 2, "alerts": []})
    envelope = load_result(workspace, "hunt")
    assert envelope is not None
    assert envelope["document"] == {"events": 2, "alerts": []}
    assert envelope["schema_version"] == RESULTS_SCHEMA_VERSION
    assert envelope["kind"] == "hunt" and envelope["saved_at"].endswith("+00:00")
    # Atomic replace: no temporary file is left behind.
    assert sorted(p.name for p in path.parent.iterdir()) == ["hunt.json"]


@pytest.mark.parametrize("kind", ["", "Hunt", "../x", "a/b", "x" * 40, "1st"])
def test_kind_must_be_a_short_name(workspace: Workspace, kind: str):
    with pytest.raises(UsageError):
        result_path(workspace, kind)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not a readable result file"),
        (b"\xff\xfe\x00", "not a readable result file"),
        (b"[]", "not a credwatch result file"),
        (b'{"schema_version": "1.0", "document": []}', "not a credwatch result file"),
        (b'{"schema_version": "2.0", "document": {}}', "schema version 2.0"),
        (b'{"document": {}}', "schema version none"),
    ],
)
def test_bad_files_are_input_errors(workspace: Workspace, content: bytes, message: str):
    path = result_path(workspace, "supply")
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_result(workspace, "supply")


def test_unserialisable_document_is_refused_and_nothing_written(workspace: Workspace):
    with pytest.raises(InputError):
        save_result(workspace, "hunt", {"score": float("nan")})
    assert not result_path(workspace, "hunt").exists()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(document=st.dictionaries(st.text(max_size=8), _json, max_size=5))
def test_any_json_document_round_trips(tmp_path_factory, document):
    ws = Workspace(tmp_path_factory.mktemp("ws"))
    save_result(ws, "supply", document)
    envelope = load_result(ws, "supply")
    assert envelope is not None
    assert envelope["document"] == json.loads(json.dumps(document))
