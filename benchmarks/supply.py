"""Benchmark: match 50,000 components against a full offline OSV database of one ecosystem.

The real osv.dev PyPI ``all.zip`` is not at hand offline, so a database of realistic
size and shape is generated (default 18,000 records over 6,000 packages: 1-3
affected ranges each, introduced/fixed/last_affected events, some explicit
``versions`` lists, aliases, CVSS vectors, a few withdrawn) and written as an osv.dev
style zip.  Components are drawn from the same package universe plus as many
packages with no advisory, with realistic versions.

Compared in the same run:

* credwatch: ``OsvZip.load`` (parse every record, pre-parse ranges once), build the
  ``(ecosystem, name)`` index, match every component;
* naive baseline: for each component, scan every record and evaluate its raw events
  (parsing versions each time) -- timed on a sample and extrapolated.

Run:  python benchmarks/supply.py [--components 50000] [--records 18000] [--ecosystem PyPI|Debian]
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from credwatch.supply import AdvisoryIndex, Component, Ecosystem, OsvZip, Vulnerable
from credwatch.supply.versions import InvalidVersionError, scheme_for

_SYLLABLES = (
    "py mail smtp auth http json yaml crypt net io core lib web db sql async fast tool kit".split()
)


def _name(rng: random.Random, i: int) -> str:
    return f"{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}-{i}"


def _version(rng: random.Random, ecosystem: str, major: int, minor: int, patch: int) -> str:
    if ecosystem == "Debian":
        epoch = "1:" if major % 7 == 0 else ""
        tail = rng.choice(["", "+dfsg", "+dfsg1", "~rc1"])
        return f"{epoch}{major}.{minor}.{patch}{tail}-{rng.randint(1, 4)}+deb12u{rng.randint(0, 3)}"
    suffix = rng.choice(["", "", "", "", "rc1", ".post1", "b2"])
    return f"{major}.{minor}.{patch}{suffix}"


def generate_records(
    n: int, packages: list[str], ecosystem: str, seed: int
) -> list[dict[str, Any]]:
    """OSV records with realistic ranges."""
    rng = random.Random(seed)
    eco = "Debian:12" if ecosystem == "Debian" else "PyPI"
    records = []
    for i in range(n):
        pkg = packages[rng.randrange(len(packages))]
        affected = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            major = rng.randint(0, 6)
            events: list[dict[str, str]] = []
            intro_kind = rng.random()
            if intro_kind < 0.45:
                events.append({"introduced": "0"})
            else:
                events.append({"introduced": _version(rng, ecosystem, major, rng.randint(0, 9), 0)})
            end = rng.random()
            fix = _version(
                rng, ecosystem, major + rng.randint(0, 1), rng.randint(0, 20), rng.randint(0, 9)
            )
            if end < 0.8:
                events.append({"fixed": fix})
            elif end < 0.92:
                events.append({"last_affected": fix})
            entry: dict[str, Any] = {
                "package": {"ecosystem": eco, "name": pkg},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
            }
            if rng.random() < 0.25:
                entry["versions"] = [
                    _version(rng, ecosystem, major, m, p) for m in range(3) for p in range(4)
                ]
            affected.append(entry)
        record: dict[str, Any] = {
            "id": f"BENCH-{i:06d}",
            "modified": "2026-06-01T00:00:00Z",
            "aliases": [f"CVE-2026-{i:05d}"] if rng.random() < 0.7 else [],
            "affected": affected,
        }
        if rng.random() < 0.6:
            record["severity"] = [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:L/A:N"}
            ]
        if rng.random() < 0.01:
            record["withdrawn"] = "2026-06-02T00:00:00Z"
        records.append(record)
    return records


def generate_components(n: int, packages: list[str], ecosystem: str, seed: int) -> list[Component]:
    rng = random.Random(seed + 1)
    eco = Ecosystem.parse("Debian:12" if ecosystem == "Debian" else "PyPI")
    clean = [f"clean-{i}" for i in range(len(packages))]
    # A fleet: many hosts share the same (package, version) pairs.
    distinct = []
    for _ in range(max(n // 5, 1)):
        name = rng.choice(packages) if rng.random() < 0.5 else rng.choice(clean)
        version = _version(rng, ecosystem, rng.randint(0, 7), rng.randint(0, 20), rng.randint(0, 9))
        distinct.append((name, version))
    return [
        Component(name, version, None, eco, "bench", "bench")
        for name, version in (rng.choice(distinct) for _ in range(n))
    ]


def naive_match(records: list[dict[str, Any]], component: Component, ecosystem: str) -> bool:
    """Scan every record; parse and walk each range's events (the schema's algorithm)."""
    parse = scheme_for(ecosystem).parser  # no cache: the naive way parses every time

    def order(a: tuple[str, Any], b: tuple[str, Any]) -> int:
        if a[1] is None or b[1] is None:
            return (a[1] is not None) - (b[1] is not None)
        return -1 if a[1] < b[1] else int(b[1] < a[1])

    found = False
    for record in records:
        if record.get("withdrawn"):
            continue
        for entry in record["affected"]:
            if entry["package"]["name"] != component.name:
                continue
            if component.version in entry.get("versions", ()):
                found = True
                continue
            for rng in entry["ranges"]:
                try:
                    v = parse(component.version or "")
                    evs = [
                        (kind, None if at == "0" else parse(at))
                        for e in rng["events"]
                        for kind, at in e.items()
                    ]
                except InvalidVersionError:
                    continue
                affected = False
                for kind, at in sorted(evs, key=functools.cmp_to_key(order)):
                    if kind == "introduced" and (at is None or not v < at):
                        affected = True
                    elif (kind == "fixed" and at is not None and not v < at) or (
                        kind == "last_affected" and at is not None and at < v
                    ):
                        affected = False
                found = found or affected
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--components", type=int, default=50_000)
    parser.add_argument("--records", type=int, default=18_000)
    parser.add_argument("--packages", type=int, default=6_000)
    parser.add_argument("--ecosystem", choices=["PyPI", "Debian"], default="PyPI")
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    packages = [_name(rng, i) for i in range(args.packages)]
    records = generate_records(args.records, packages, args.ecosystem, args.seed)
    components = generate_components(args.components, packages, args.ecosystem, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "all.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for record in records:
                z.writestr(f"{record['id']}.json", json.dumps(record))
        size = archive.stat().st_size

        t0, c0 = time.perf_counter(), time.process_time()
        load = OsvZip(archive).load(components)
        t1, c1 = time.perf_counter(), time.process_time()
        index = AdvisoryIndex(load.advisories)
        t2, c2 = time.perf_counter(), time.process_time()
        results = index.match(components)
        t3, c3 = time.perf_counter(), time.process_time()
    vulnerable = sum(isinstance(r, Vulnerable) for r in results)

    sample = components[: args.naive_sample]
    n0 = time.perf_counter()
    naive_hits = [naive_match(records, c, args.ecosystem) for c in sample]
    n1 = time.perf_counter()
    agree = sum(h == isinstance(r, Vulnerable) for h, r in zip(naive_hits, results, strict=False))
    per_component = (n1 - n0) / len(sample)
    naive_total = per_component * len(components)

    total = t3 - t0
    print(
        f"supply matching benchmark: {args.components:,} {args.ecosystem} components, "
        f"{args.records:,} OSV records ({len(load.advisories):,} usable, "
        f"{load.withdrawn} withdrawn), "
        f"zip {size / 1e6:.1f} MB"
    )
    print()
    print(f"{'step':<44}{'wall s':>10}{'CPU s':>10}")
    print(f"{'-' * 64}")
    print(f"{'load + parse records, pre-parse ranges':<44}{t1 - t0:>10.2f}{c1 - c0:>10.2f}")
    print(f"{'build (ecosystem, name) index':<44}{t2 - t1:>10.2f}{c2 - c1:>10.2f}")
    print(f"{'match all components':<44}{t3 - t2:>10.2f}{c3 - c2:>10.2f}")
    print(f"{'credwatch total':<44}{total:>10.2f}{c3 - c0:>10.2f}")
    label = f"naive linear scan ({len(sample)} sampled, extrapolated)"
    print(f"{label:<44}{naive_total:>10.1f}")
    print()
    print(
        f"vulnerable components: {vulnerable:,} of {len(components):,}; "
        f"naive and indexed agree on {agree}/{len(sample)} sampled components"
    )
    print(
        f"speed-up over naive: {naive_total / total:,.0f}x; target <= 10 s: "
        f"{'met' if total <= 10 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
