"""executor_from_spec / parse_executor_spec: every form, and bad specs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credwatch.errors import CredwatchError, ExternalServiceError, UsageError
from credwatch.execute import (
    DaskExecutor,
    ExecutorKind,
    ExecutorSpec,
    is_loopback,
    parse_executor_spec,
)


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("local", ExecutorSpec(ExecutorKind.LOCAL)),
        ("local:3", ExecutorSpec(ExecutorKind.LOCAL, workers=3)),
        ("dask-local", ExecutorSpec(ExecutorKind.DASK_LOCAL)),
        ("dask-local:2", ExecutorSpec(ExecutorKind.DASK_LOCAL, workers=2)),
        ("dask://127.0.0.1:8786", ExecutorSpec(ExecutorKind.DASK, host="127.0.0.1", port=8786)),
        ("dask://localhost:8786", ExecutorSpec(ExecutorKind.DASK, host="localhost", port=8786)),
        ("dask://[::1]:8786", ExecutorSpec(ExecutorKind.DASK, host="[::1]", port=8786)),
        ("tls://10.0.0.5:8786", ExecutorSpec(ExecutorKind.DASK_TLS, host="10.0.0.5", port=8786)),
    ],
)
def test_valid_specs(spec: str, parsed: ExecutorSpec) -> None:
    assert parse_executor_spec(spec) == parsed


@pytest.mark.parametrize(
    "spec", ["", "local:0", "local:x", "threads", "dask://host", "dask://h:99999", "ray://h:1"]
)
def test_bad_specs_are_usage_errors_with_a_hint(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_executor_spec(spec)
    assert info.value.hint is not None
    assert info.value.exit_code == 2


def test_cleartext_to_a_remote_host_is_refused_unless_unsafe() -> None:
    with pytest.raises(UsageError, match="without TLS"):
        parse_executor_spec("dask://10.0.0.5:8786")
    spec = parse_executor_spec("dask://10.0.0.5:8786", unsafe_cleartext_network=True)
    assert spec.kind is ExecutorKind.DASK


def test_unreachable_scheduler_is_an_external_error() -> None:
    with pytest.raises(ExternalServiceError) as info:
        DaskExecutor("tcp://127.0.0.1:9", connect_timeout=1)  # discard port: nothing listens
    assert info.value.exit_code == 4


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop


@given(st.text(max_size=40))
def test_parse_never_crashes(text: str) -> None:
    try:
        parse_executor_spec(text)
    except CredwatchError as exc:
        assert exc.exit_code == 2
