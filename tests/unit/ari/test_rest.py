"""The REST transport against small raw TCP servers: what it does when Asterisk's answer is
split, missing, malformed or late, and when Asterisk closes a connection it kept open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ivr.ari.rest import MalformedResponse, RestConnections

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b'HTTP/1.1 200 OK\r\nContent-type: application/json\r\nContent-Length: 13\r\n\r\n{"value":"2"}'


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


Serve = Callable[..., Awaitable[RestConnections]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """`await serve(handler, limit=1, answer_within=5.0, headers={})`: connections to a new
    server."""
    servers: list[asyncio.Server] = []
    clients: list[RestConnections] = []

    async def start(
        handler: Handler, limit: int = 1, answer_within: float = 5.0, headers: dict | None = None
    ) -> RestConnections:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/ari"
        clients.append(RestConnections(url, headers or {}, limit, answer_within))
        return clients[-1]

    yield start
    for client in clients:
        await client.close()
    for server in servers:
        server.close()


async def test_an_answer_in_pieces_is_put_together_and_the_request_is_well_formed(serve):
    seen: list[bytes] = []

    async def piecemeal(reader, writer):
        seen.append(await read_request(reader))
        for piece in (OK[:20], OK[20:60], OK[60:-3], OK[-3:]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.close()

    rest = await serve(piecemeal, limit=2, headers={"Authorization": "Basic eA=="})
    status, body = await rest.request(
        "POST", "/channels/1701.5;2/play", {"media": "sound:hello world"}, b'{"a":1}'
    )
    assert (status, body) == (200, b'{"value":"2"}')
    head, _, sent_body = seen[0].partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /ari/channels/1701.5;2/play?media=sound%3Ahello%20world HTTP/1.1"
    assert b"Authorization: Basic eA==" in lines and b"Content-Length: 7" in lines
    assert sent_body == b'{"a":1}'


async def test_a_connection_is_kept_for_the_next_request(serve):
    connections = 0

    async def keep_alive(reader, writer):
        nonlocal connections
        connections += 1
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(OK)

    rest = await serve(keep_alive, limit=4)
    for _ in range(5):
        assert (await rest.request("GET", "/asterisk/variable", None, None))[0] == 200
    assert connections == 1


@pytest.mark.parametrize(
    ("sent_before_closing", "sent_again"),
    [(b"", True), (OK[:-4], False)],
    ids=["closed-unanswered", "closed-halfway-through-the-answer"],
)
async def test_a_kept_connection_asterisk_closes_under_a_request(
    serve, sent_before_closing, sent_again
):
    """Closed before any answer (Asterisk closing an idle connection as the request arrives),
    the request goes again on a new connection. Closed halfway through the answer, Asterisk
    may have carried it out: it is an error, and not sent twice."""
    connections = 0

    async def one_answer_per_connection(reader, writer):
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(OK)
        await read_request(reader)
        writer.write(sent_before_closing)
        await writer.drain()
        writer.close()

    rest = await serve(one_answer_per_connection)
    await rest.request("GET", "/channels", None, None)
    if sent_again:
        assert (await rest.request("POST", "/channels", None, None))[0] == 200
        assert connections == 2
    else:
        with pytest.raises(ConnectionError):
            await rest.request("POST", "/channels", None, None)
        assert connections == 1


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (b"SIP/2.0 200 OK\r\n\r\n", "not an HTTP status line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "chunked"),
        (b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\n", "no Content-Length"),
    ],
)
async def test_an_answer_this_client_cannot_read_names_what_is_wrong(serve, answer, named):
    async def odd(reader, writer):
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        await asyncio.sleep(1)

    rest = await serve(odd)
    with pytest.raises(MalformedResponse, match=named):
        await rest.request("GET", "/channels", None, None)


async def test_an_empty_answer_and_no_body_statuses(serve):
    async def no_content(reader, writer):
        await read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    rest = await serve(no_content)
    assert await rest.request("DELETE", "/bridges/b1", None, None) == (204, b"")


async def test_no_answer_within_the_timeout_is_a_timeout_and_the_connection_is_dropped(serve):
    connections = 0

    async def silent_once(reader, writer):
        nonlocal connections
        connections += 1
        await read_request(reader)
        if connections == 1:
            await asyncio.sleep(2)
        writer.write(OK)
        await writer.drain()

    rest = await serve(silent_once, answer_within=0.2)
    with pytest.raises(TimeoutError):
        await rest.request("GET", "/channels", None, None)
    assert (await rest.request("GET", "/channels", None, None))[0] == 200
    assert connections == 2, "a connection whose answer never came is not reused"


def test_only_plain_http_urls_are_taken():
    with pytest.raises(ValueError, match="must be http://"):
        RestConnections("https://127.0.0.1:8089/ari", {}, 1, 1.0)


async def held_server(
    seen: list[str], release: asyncio.Queue[None]
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A server that notes each request's path and answers it only when `release` says so."""

    async def handler(reader, writer):
        while True:
            try:
                request = await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            seen.append(request.split(b" ")[1].decode())
            await release.get()
            writer.write(OK)

    return handler


async def test_requests_past_the_limit_wait_and_go_in_the_order_they_came(serve):
    seen: list[str] = []
    release: asyncio.Queue[None] = asyncio.Queue()
    rest = await serve(await held_server(seen, release), limit=2)
    requests = [asyncio.create_task(rest.request("GET", f"/{n}", None, None)) for n in range(6)]
    await asyncio.sleep(0.1)
    assert seen == ["/ari/0", "/ari/1"]
    for answered in range(1, 5):
        release.put_nowait(None)
        await asyncio.sleep(0.05)
        assert seen == [f"/ari/{n}" for n in range(answered + 2)]
        assert sum(request.done() for request in requests) == answered
    for _ in range(2):
        release.put_nowait(None)
    assert [status for status, _ in await asyncio.gather(*requests)] == [200] * 6


async def test_a_request_given_up_while_it_waits_leaves_its_turn_to_the_next(serve):
    seen: list[str] = []
    release: asyncio.Queue[None] = asyncio.Queue()
    rest = await serve(await held_server(seen, release), limit=1)
    first = asyncio.create_task(rest.request("GET", "/first", None, None))
    given_up = asyncio.create_task(rest.request("GET", "/given-up", None, None))
    third = asyncio.create_task(rest.request("GET", "/third", None, None))
    fourth = asyncio.create_task(rest.request("GET", "/fourth", None, None))
    await asyncio.sleep(0.05)
    given_up.cancel()
    release.put_nowait(None)
    await asyncio.sleep(0.05)
    assert seen == ["/ari/first", "/ari/third"]  # one at a time still, and nobody skipped
    release.put_nowait(None)
    release.put_nowait(None)
    assert [status for status, _ in await asyncio.gather(first, third, fourth)] == [200] * 3
    assert seen == ["/ari/first", "/ari/third", "/ari/fourth"]
    assert given_up.cancelled()
