"""Stage 1: open inputs and stream their physical lines.

Invariants:
- Lines are numbered exactly as the evidence contract defines: the file is read as
  bytes (gunzipped for ``.gz``), split on ``\\n`` only, one trailing ``\\r`` dropped,
  decoded UTF-8 with ``errors="replace"``; numbering is 1-based.
- Nothing is read whole: bytes are pulled in chunks and at most ``LINE_CAP`` bytes of
  any one line are kept (the rest is skipped, the numbering stays exact), so memory is
  bounded whatever the input size or line length.
- A zip (Gitea "run logs" archive) yields one source per member, named
  ``<path as given>::<member name>``; every other input yields one source named exactly
  as given (``-`` for stdin).
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

CHUNK = 1 << 20          # bytes pulled per read
LINE_CAP = 64 * 1024     # bytes of one line kept (Gitea itself cuts rows at 64 KiB)
BINARY_SNIFF = 8192      # a NUL byte in the first bytes marks a binary input
ZIP_MAGIC = b"PK\x03\x04"
GZIP_MAGIC = b"\x1f\x8b"


class UnreadableInput(Exception):
    """The input cannot be read at all (missing, a directory, no permission)."""


@dataclass(slots=True)
class Source:
    """One logical input: a name for evidence plus a way to stream its lines."""

    name: str
    opener: object  # () -> BinaryIO
    notes: list[str] = field(default_factory=list)
    binary: bool = False

    def lines(self) -> Iterator[tuple[int, str]]:
        """Yield ``(line_number, text)``; text is decoded, capped, without ``\\r\\n``."""
        stream = self.opener()  # type: ignore[operator]
        try:
            head = stream.read(CHUNK) or b""
            if b"\x00" in head[:BINARY_SNIFF]:
                self.binary = True
                self.notes.append(f"{self.name}: binary content, not analysed")
                return
            yield from iter_lines(stream, head=head, notes=self.notes, name=self.name)
        finally:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing must never mask the result
                pass


def check_readable(path: str) -> None:
    """Raise UnreadableInput with a one-line reason unless ``path`` can be opened."""
    if path == "-":
        return
    if not os.path.lexists(path):
        raise UnreadableInput(f"cannot read {path!r}: no such file")
    if os.path.isdir(path):
        raise UnreadableInput(f"cannot read {path!r}: is a directory")
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UnreadableInput(f"cannot read {path!r}: {reason.lower()}") from None


def open_sources(path: str) -> list[Source]:
    """The sources inside one input path (several for a zip archive)."""
    check_readable(path)
    if path == "-":
        data = _StdinOnce()
        return [Source(name="-", opener=data.open)]
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if path.endswith(".gz") or magic[:2] == GZIP_MAGIC and not path.endswith(".zip"):
        if magic[:2] == GZIP_MAGIC:
            return [Source(name=path, opener=lambda: _SafeGzip(path))]
        return [Source(name=path, opener=lambda: open(path, "rb"), notes=[f"{path}: named .gz but not gzip data; read as plain text"])]
    if magic == ZIP_MAGIC:
        return _zip_sources(path)
    return [Source(name=path, opener=lambda: open(path, "rb"))]


def _zip_sources(path: str) -> list[Source]:
    try:
        archive = zipfile.ZipFile(path)
        members = [m for m in archive.infolist() if not m.is_dir()]
        archive.close()
    except (zipfile.BadZipFile, OSError, ValueError):
        return [Source(name=path, opener=lambda: open(path, "rb"), notes=[f"{path}: not a readable zip; read as plain text"])]
    sources = []
    for member in members:
        sources.append(Source(name=f"{path}::{member.filename}", opener=_zip_member_opener(path, member.filename)))
    return sources


def _zip_member_opener(path: str, member: str):  # noqa: ANN202
    def _open() -> BinaryIO:
        archive = zipfile.ZipFile(path)
        inner = archive.open(member)
        return _ClosingBoth(inner, archive)

    return _open


class _ClosingBoth(io.RawIOBase):
    def __init__(self, inner: BinaryIO, outer: zipfile.ZipFile) -> None:
        self._inner, self._outer = inner, outer

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        try:
            return self._inner.read(size)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
            return b""

    def close(self) -> None:
        self._inner.close()
        self._outer.close()


class _SafeGzip(io.RawIOBase):
    """gzip stream that ends quietly on truncated or corrupt data (a note is the caller's job)."""

    def __init__(self, path: str) -> None:
        self._gz = gzip.open(path, "rb")
        self.failed = False

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self.failed:
            return b""
        try:
            return self._gz.read(size)
        except (OSError, EOFError, zlib.error):
            self.failed = True
            return b""

    def close(self) -> None:
        self._gz.close()


class _StdinOnce:
    def open(self) -> BinaryIO:
        return sys.stdin.buffer


def iter_lines(stream: BinaryIO, head: bytes = b"", notes: list[str] | None = None, name: str = "") -> Iterator[tuple[int, str]]:
    """Split a byte stream into numbered, decoded, capped lines (see module invariants).

    ``head`` is data already read from the front of ``stream``.
    """
    number = 0
    kept = bytearray()
    capped = False
    chunk = head
    while True:
        if not chunk:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
        start = 0
        while True:
            cut = chunk.find(b"\n", start)
            end = len(chunk) if cut < 0 else cut
            room = LINE_CAP - len(kept)
            if room > 0:
                kept += chunk[start : min(end, start + room)]
            if end - start > max(room, 0):
                capped = True
            if cut < 0:
                break
            number += 1
            yield number, _decode(kept, number, capped)
            kept = bytearray()
            capped = False
            start = cut + 1
        chunk = b""
    if kept or capped:
        number += 1
        yield number, _decode(kept, number, capped)
    if getattr(stream, "failed", False) and notes is not None:
        notes.append(f"{name}: compressed data ended early (corrupt or truncated); analysed what was readable")


def _decode(raw: bytearray, number: int, capped: bool) -> str:
    if not capped and raw.endswith(b"\r"):
        del raw[-1:]
    text = raw.decode("utf-8", errors="replace")
    if number == 1 and text.startswith("\ufeff"):
        text = text[1:]
    return text
