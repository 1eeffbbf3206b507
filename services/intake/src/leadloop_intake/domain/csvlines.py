"""The lines of an uploaded CSV file, read in bounded chunks: a line (or a quoted record spanning
lines) longer than the cap is skipped as it streams by, never held whole, so the memory an
import needs does not grow with the width of its rows."""

from __future__ import annotations

from typing import IO

MAX_ROW_BYTES = 64 * 1024
"""A CSV record's size (a wide trade-show export's row is a few KiB); under csv.field_size_limit,
so the csv module itself never refuses one we pass it."""
CHUNK_BYTES = 16 * 1024
BOM = b"\xef\xbb\xbf"


class RowTooLong(Exception):
    """A record past the cap, skipped; `line` is the line it ended on."""

    def __init__(self, line: int, limit: int) -> None:
        super().__init__(f"the row is longer than {limit} bytes; it was skipped unread")
        self.line = line


class BoundedLines:
    """Decoded lines of `stream` with their line ends (what csv.reader takes, like a file opened
    with newline=""); raises RowTooLong for a record past `max_bytes` and goes on after it.

    It never holds more than `max_bytes` plus one chunk (`peak` records the most it held).
    """

    def __init__(
        self, stream: IO[bytes], max_bytes: int = MAX_ROW_BYTES, chunk: int = CHUNK_BYTES
    ) -> None:
        self.stream = stream
        self.max_bytes = max_bytes
        self.chunk = chunk
        self.buffer = bytearray()
        self.eof = False
        self.line = 0
        """Physical lines read so far, skipped ones included: the current line's number."""
        self.peak = 0
        self.record_bytes = 0

    def start_record(self) -> None:
        """The caller begins a new CSV record: its size counts from here."""
        self.record_bytes = 0

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        end = self._line_end()
        while end is None and not self.eof and len(self.buffer) <= self.max_bytes:
            self._read()
            end = self._line_end()
        if end is None:
            if len(self.buffer) > self.max_bytes:
                self._skip_line()
            if not self.buffer:
                raise StopIteration
            end = len(self.buffer)
        if end > self.max_bytes:
            del self.buffer[:end]
            self._too_long()
        raw = bytes(self.buffer[:end])
        del self.buffer[:end]
        if self.line == 0 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        self.line += 1
        self.record_bytes += len(raw)
        if self.record_bytes > self.max_bytes:
            self.record_bytes = 0
            raise RowTooLong(self.line, self.max_bytes)
        return raw.decode("utf-8", "replace")

    def _read(self) -> None:
        data = self.stream.read(self.chunk)
        if not data:
            self.eof = True
            return
        self.buffer += data
        self.peak = max(self.peak, len(self.buffer))

    def _line_end(self) -> int | None:
        """Where the first line in the buffer ends (after \\n, \\r\\n or \\r), if it is there."""
        newline = self.buffer.find(b"\n")
        stop = newline if newline >= 0 else len(self.buffer)
        cr = self.buffer.find(b"\r", 0, stop)
        if cr < 0:
            return None if newline < 0 else newline + 1
        if cr + 1 < len(self.buffer):
            return cr + 2 if self.buffer[cr + 1] == 0x0A else cr + 1
        return cr + 1 if self.eof else None

    def _skip_line(self) -> None:
        """Drop the over-long line chunk by chunk up to its end, then raise RowTooLong."""
        self.buffer.clear()
        while True:
            self._read()
            if self.eof:
                self.buffer.clear()
                self._too_long()
            end = self._line_end()
            if end is not None:
                del self.buffer[:end]
                self._too_long()
            straddles = self.buffer.endswith(b"\r")  # its \n may open the next chunk
            self.buffer.clear()
            if straddles:
                self.buffer += b"\r"

    def _too_long(self) -> None:
        self.line += 1
        self.record_bytes = 0
        raise RowTooLong(self.line, self.max_bytes)
