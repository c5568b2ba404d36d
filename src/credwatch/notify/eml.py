"""Exporting notifications as ``.eml`` files: ``DIR/TENANT/NNNNNN.eml``.

An ``.eml`` file is a complete message, so it necessarily contains the recipient's
address in its ``To:`` header; the folder is created 0700 and the files 0600.  File
names are sequence numbers (never the address); ``DIR/TENANT/manifest.jsonl`` maps each
file to the plan's account id.

Example:
    >>> sink = EmlDirectory(Path("out"))            # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from email.message import Message
from pathlib import Path

from credwatch.errors import InputError
from credwatch.notify.interface import MessageResult

__all__ = ["EmlDirectory"]


class EmlDirectory:
    """Writes each tenant's messages into its own folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def deliver(self, tenant: str, items: list[tuple[str, Message]]) -> list[MessageResult]:
        """Write one ``.eml`` per message and the tenant's manifest.

        Raises:
            InputError: when the folder cannot be written.
        """
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in tenant) or "_"
        folder = self.root / safe
        results: list[MessageResult] = []
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.root.chmod(0o700)
            manifest = []
            for number, (account, message) in enumerate(items, start=1):
                name = f"{number:06d}.eml"
                fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(message.as_bytes())
                manifest.append(json.dumps({"file": name, "account": account}) + "\n")
                results.append(MessageResult(account, tenant, "written", 1, name))
            (folder / "manifest.jsonl").write_text("".join(manifest), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write notifications to {folder}: {exc.strerror}") from None
        return results
