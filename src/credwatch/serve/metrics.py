"""Prometheus metrics of ``credwatch serve``, safe with several uvicorn workers.

With more than one worker the runner sets ``PROMETHEUS_MULTIPROC_DIR`` and every worker
writes its samples there; ``/metrics`` then aggregates all workers
(``prometheus_client.multiprocess``).  Labels are endpoint templates and status codes,
never a prefix, address or password.

Recording a request is on the hot path: three multiprocess metric updates cost about as
much as the range answer itself (measured: 6-19 us of CPU per request).  So
:meth:`Metrics.observe` only adds to per-worker tallies, and the event loop folds them
into the Prometheus values :data:`FLUSH_SECONDS` after the first one since the last
fold (one fold for many requests under load); rendering folds the worker's own first.
A scrape may thus miss another worker's last 20 ms, never more.
"""

from __future__ import annotations

import asyncio
import os
import time
from bisect import bisect_left
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from credwatch.corpus.store import Corpus

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

#: Longest delay before a worker's tallies reach the shared metrics.
FLUSH_SECONDS = 0.02
_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """The metric families; one instance per app (its own registry)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.requests = Counter(
            "credwatch_requests",
            "HTTP requests by endpoint and status.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "credwatch_request_duration_seconds",
            "Time spent answering, by endpoint.",
            ["endpoint"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.corpus_records = Gauge(
            "credwatch_corpus_records",
            "Distinct hashes served, by mode (sha1, ntlm).",
            ["mode"],
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.corpus_age = Gauge(
            "credwatch_corpus_age_seconds",
            "Seconds since the served corpus generation was built.",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.corpus_refused = Gauge(
            "credwatch_corpus_refused_generations",
            "Corpus generations refused because they did not validate.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        # (endpoint, status) -> [requests, seconds, one tally per bucket and +Inf].
        self._pending: dict[tuple[str, int], list[float]] = {}
        self._flush_loop: asyncio.AbstractEventLoop | None = None
        self.policy_decisions = Counter(
            "credwatch_policy_decisions",
            "Dovecot policy answers by result (allow, delay, reject).",
            ["result"],
            registry=self.registry,
        )

    def observe(self, endpoint: str, status: int, started: float) -> None:
        """Count one request and its latency (folded in within :data:`FLUSH_SECONDS`)."""
        elapsed = time.perf_counter() - started
        tally = self._pending.get((endpoint, status))
        if tally is None:
            tally = self._pending[(endpoint, status)] = [0.0] * (len(_BUCKETS) + 3)
        tally[0] += 1
        tally[1] += elapsed
        tally[2 + bisect_left(_BUCKETS, elapsed)] += 1
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if self._flush_loop is not loop:
            self._flush_loop = loop
            loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Add the tallies recorded since the last flush to the Prometheus values."""
        self._flush_loop = None
        pending, self._pending = self._pending, {}
        for key, tally in pending.items():
            children = self._children.get(key)
            if children is None:
                endpoint, status = key
                children = (
                    self.requests.labels(endpoint, str(status)),
                    self.latency.labels(endpoint),
                )
                self._children[key] = children
            counter, histogram = children
            counter.inc(tally[0])
            # Histogram.observe takes one sample; its per-bucket values take a batch.
            histogram._sum.inc(tally[1])
            for bucket, count in enumerate(tally[2:]):
                if count:
                    histogram._buckets[bucket].inc(count)

    def render(self, corpus: Corpus | None, refused: int, now: float) -> bytes:
        """Update the corpus gauges and render the exposition text (all workers)."""
        self.flush()
        for mode in ("sha1", "ntlm"):
            layer = corpus.layer(mode) if corpus is not None else None
            self.corpus_records.labels(mode).set(layer.records if layer else 0)
        if corpus is not None:
            self.corpus_age.set(max(0.0, now - corpus.created_at.timestamp()))
        self.corpus_refused.set(refused)
        if self.multiprocess:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
