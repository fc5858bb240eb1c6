"""ARI's REST requests over keep-alive HTTP/1.1 connections of our own, one request in flight
on each.

A call makes a dozen requests to Asterisk on loopback. aiohttp's client spends about 80 to
95 µs of the worker's CPU on each (URL objects, timers, tracing hooks, a response object with
streams); writing the request and parsing Asterisk's answer straight from an asyncio protocol
takes 35 to 50 µs, the whole client's request included (`bench/bench_ari.py`). Asterisk answers
every request with a Content-Length and keeps the connection open, so that is all this client
speaks; the event websocket stays on aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from urllib.parse import quote, urlencode, urlsplit

# Asterisk closes a connection idle for 15 s (http.conf session_keep_alive); older ones are not
# reused, so a request is hardly ever written to a connection Asterisk is just closing.
IDLE_REUSE_SECONDS = 10.0
NO_BODY_STATUSES = frozenset({204, 304})
PATH_SAFE = "/;:@!$&'()*+,=-._~"  # RFC 3986 path characters; ids stay as Asterisk made them


class MalformedResponse(ConnectionError):
    """The server's answer is not HTTP/1.1 this client understands."""


class _Connection(asyncio.Protocol):
    """One TCP connection: writes a request, collects the one answer to it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.received = 0  # bytes of the current answer so far
        self.idle_since = time.monotonic()
        self.closed = False
        self._buffer = bytearray()
        self._head: tuple[int, int, bool] | None = None  # status, body length, close after

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(exc or ConnectionResetError("Asterisk closed the connection"))

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.answer = asyncio.get_running_loop().create_future()
        self.received = 0
        self.transport.write(request)
        return self.answer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        self._buffer += data
        try:
            self._parse()
        except MalformedResponse as error:
            self._fail(error)
            self.close()

    def _parse(self) -> None:
        if self._head is None:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self._head = _parse_head(bytes(self._buffer[:end]))
            del self._buffer[: end + 4]
        status, length, close_after = self._head
        if len(self._buffer) < length:
            return
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._head = None
        if close_after:
            self.close()
        self.idle_since = time.monotonic()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((status, body))

    def _fail(self, error: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(error)


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, body length and whether the server closes the connection after the body."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise MalformedResponse(f"not an HTTP status line: {lines[0][:80]!r}")
    status = int(parts[1])
    length: int | None = None
    close_after = parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            if not value.strip().isdigit():
                raise MalformedResponse(f"bad Content-Length: {value.strip()[:40]!r}")
            length = int(value)
        elif name == b"connection":
            close_after = value.strip().lower() == b"close"
        elif name == b"transfer-encoding":
            raise MalformedResponse("chunked answers are not spoken here")
    if length is None:
        if status not in NO_BODY_STATUSES and not 100 <= status < 200:
            raise MalformedResponse(f"an answer with status {status} and no Content-Length")
        length = 0
    return status, length, close_after


class _Turns:
    """At most `limit` holders at once; the others wait, first come first served.

    asyncio.Semaphore (Python 3.11) looks through all its waiters on every acquire: at peak load,
    with a few hundred requests waiting for a connection, that alone was 3 % of a worker's CPU.
    """

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_on()  # given the turn just as it was cancelled
            raise

    async def __aexit__(self, *_: object) -> None:
        self._pass_on()

    def _pass_on(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():  # not cancelled while it waited
                turn.set_result(None)
                return
        self._free += 1


class RestConnections:
    """At most `limit` keep-alive connections to one HTTP server; more requests wait."""

    def __init__(self, base_url: str, headers: dict[str, str], limit: int, timeout: float) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"ARI URL must be http://host[:port]/path, not {base_url!r}")
        self._host = url.hostname
        self._port = url.port or 80
        self._base_path = url.path.rstrip("/")
        fixed = {"Host": url.netloc, **headers}
        self._fixed_headers = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._timeout = timeout  # seconds for a request, waiting for a connection included
        self._free = _Turns(limit)
        self._idle: list[_Connection] = []
        self._closed = False

    async def request(
        self,
        method: str,
        path: str,
        query: dict[str, str] | None,
        body: bytes | None,
    ) -> tuple[int, bytes]:
        """Status and body of one request. ConnectionError, OSError or TimeoutError when
        there was no answer; the connection is then dropped."""
        if self._closed:
            raise RuntimeError("these connections are closed")
        message = self._message(method, path, query, body)
        async with asyncio.timeout(self._timeout), self._free:
            connection = self._reusable()
            if connection is not None:
                try:
                    return await self._exchange(connection, message)
                except ConnectionError:
                    if connection.received:
                        raise
                    # closed by Asterisk before it read the request: safe to send again
            return await self._exchange(await self._open(), message)

    async def close(self) -> None:
        self._closed = True
        for connection in self._idle:
            connection.close()
        self._idle.clear()

    def _message(
        self, method: str, path: str, query: dict[str, str] | None, body: bytes | None
    ) -> bytes:
        target = quote(self._base_path + path, safe=PATH_SAFE)
        if query:
            target += "?" + urlencode(query, quote_via=quote, safe="")
        head = f"{method} {target} HTTP/1.1\r\n{self._fixed_headers}"
        if body is None:
            return f"{head}Content-Length: 0\r\n\r\n".encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        return head.encode() + body

    def _reusable(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and now - connection.idle_since < IDLE_REUSE_SECONDS:
                return connection
            connection.close()
        return None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        return connection

    async def _exchange(self, connection: _Connection, message: bytes) -> tuple[int, bytes]:
        try:
            answer = await connection.send(message)
        except BaseException:
            connection.close()  # its state is unknown: cancelled, timed out or broken
            raise
        if connection.closed or self._closed:
            connection.close()
        else:
            self._idle.append(connection)
        return answer
