"""A raw-socket HTTP server on loopback that cuts response bodies short, as a dropped connection does.

pytest-httpserver always sends whole bodies, so this one writes the bytes itself: a
`Content-Length: 1000` header followed by 10 bytes, or a chunked body without its final
zero-length chunk, then closes the socket.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Exactly ten bytes: the start of a JSON list that never ends.
PARTIAL = b'[{"id": 1}'
WHOLE = b'[{"id": 1}, {"id": 2}]'

CUTS = {
    "content_length": b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n" + PARTIAL,
    "chunked": b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    + f"{len(PARTIAL):x}\r\n".encode()
    + PARTIAL
    + b"\r\n",
}


class CutBodyServer:
    """Cuts the body of the first `failures` responses (every one when None), then answers whole."""

    def __init__(self, failures: int | None, cut: str = "content_length") -> None:
        self.failures = failures
        self.cut = CUTS[cut]
        self.request_lines: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                return
            head += data
        self.request_lines.append(head.split(b"\r\n", 1)[0].decode())
        if self.failures is None or len(self.request_lines) <= self.failures:
            conn.sendall(b"HTTP/1.1 200 OK\r\n" + self.cut)
        else:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(WHOLE)}\r\n\r\n".encode()
                + WHOLE
            )
        conn.shutdown(socket.SHUT_WR)

    @classmethod
    @contextmanager
    def running(cls, failures: int | None, cut: str = "content_length") -> Iterator[CutBodyServer]:
        server = cls(failures, cut)
        server._thread.start()
        try:
            yield server
        finally:
            server._stopped.set()
            server._thread.join(timeout=5)
            server._listener.close()
