"""``tls://`` joins a real TLS-only Dask cluster on 127.0.0.1 (certificates made here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path

import dask
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from distributed import LocalCluster
from distributed.security import Security

from credwatch.execute import Batch, executor_from_spec, run_batches
from tests.execute import jobs

pytestmark = [
    pytest.mark.network,
    # On a loaded machine distributed warns that creating its scratch folder took > 1 s.
    pytest.mark.filterwarnings("ignore:Creating scratch directories:UserWarning"),
]


def _write_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and one certificate for 127.0.0.1 usable by scheduler, workers and client."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "credwatch test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "node.pem", folder / "node.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


@pytest.fixture
def tls_cluster(tmp_path: Path) -> Iterator[tuple[str, Path, Path, Path]]:
    ca, cert, key = _write_pki(tmp_path)
    security = Security(
        tls_ca_file=str(ca),
        tls_scheduler_cert=str(cert),
        tls_scheduler_key=str(key),
        tls_worker_cert=str(cert),
        tls_worker_key=str(key),
        tls_client_cert=str(cert),
        tls_client_key=str(key),
        require_encryption=True,
    )
    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        yield cluster.scheduler_address, ca, cert, key
    finally:
        cluster.close()


def test_tls_executor_runs_batches(tls_cluster: tuple[str, Path, Path, Path]) -> None:
    address, ca, cert, key = tls_cluster
    assert address.startswith("tls://127.0.0.1:")
    settings = {
        "distributed.comm.require-encryption": True,
        "distributed.comm.tls.ca-file": str(ca),
        "distributed.comm.tls.client.cert": str(cert),
        "distributed.comm.tls.client.key": str(key),
    }
    with dask.config.set(settings), executor_from_spec(address) as ex:
        assert ex.name == address
        results = list(run_batches(ex, jobs.square, [Batch("t0", [1, 2, 3], 3)]))
    assert results[0].table.column("sq").to_pylist() == [1, 4, 9]


def test_dask_url_joins_a_running_loopback_scheduler() -> None:
    cluster = LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    try:
        hostport = cluster.scheduler_address.removeprefix("tcp://")
        with executor_from_spec(f"dask://{hostport}") as ex:
            assert ex.name == f"dask://{hostport}"
            assert ex.workers == 1
            out = list(run_batches(ex, jobs.square, [Batch("d0", [4], 1)]))
        assert out[0].table.column("sq").to_pylist() == [16]
    finally:
        cluster.close()
