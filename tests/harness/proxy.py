"""A loopback TCP proxy in front of ARI, to fault it: cut its connections, or make Asterisk
answer late."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class CuttableProxy:
    """A loopback TCP proxy in front of ARI whose connections the test can cut at once, and
    through which Asterisk's answers and events can arrive `answer_delay` seconds late (each
    late by that much, in order: a slow Asterisk, not a slow link)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.answer_delay = 0.0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Reset every open connection, as a network fault would."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self._writers.update((writer, up_writer))
        directions = ((reader, up_writer, lambda: 0.0), (up_reader, writer, self._late_by))
        for source, sink, delay in directions:
            due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
            for pipe in (self._receive(source, due, delay), self._deliver(due, sink)):
                task = asyncio.create_task(pipe)
                self._pipes.add(task)
                task.add_done_callback(self._pipes.discard)

    def _late_by(self) -> float:
        return self.answer_delay

    @staticmethod
    async def _receive(
        source: asyncio.StreamReader,
        due: asyncio.Queue[tuple[float, bytes]],
        delay: Callable[[], float],
    ) -> None:
        """Each chunk read, with the time it is due at the other end (b"": the end)."""
        loop = asyncio.get_running_loop()
        try:
            while data := await source.read(65536):
                due.put_nowait((loop.time() + delay(), data))
        except (ConnectionError, OSError):
            pass
        finally:
            due.put_nowait((loop.time(), b""))

    @staticmethod
    async def _deliver(due: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                at, data = await due.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, at - loop.time()))
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()
