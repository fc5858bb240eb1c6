"""A loopback TCP proxy in front of ARI, to fault it: cut its connections, or make Asterisk
answer late."""

from __future__ import annotations

import asyncio


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
        late: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        pipes = (
            self._pipe(reader, up_writer),
            self._receive_answers(up_reader, late),
            self._deliver_answers(late, writer),
        )
        for pipe in pipes:
            task = asyncio.create_task(pipe)
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()

    async def _receive_answers(
        self, source: asyncio.StreamReader, late: asyncio.Queue[tuple[float, bytes]]
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await source.read(65536):
                late.put_nowait((loop.time() + self.answer_delay, data))
        except (ConnectionError, OSError):
            pass
        finally:
            late.put_nowait((loop.time(), b""))

    @staticmethod
    async def _deliver_answers(
        late: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await late.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - loop.time()))
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            sink.transport.abort()
