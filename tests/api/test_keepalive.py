"""The deliverer's lean HTTP/1.1 client: statuses, bodies in every framing, reuse and server-side closes."""

from __future__ import annotations

import asyncio
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from segmint.adapters.webhooks import KeepAlivePool

from .support import LOOPBACK, free_port


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, bytes, str | None]] = []
    connections: set[int] = set()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        _Handler.seen.append((self.path, body, self.headers.get("x-test")))
        _Handler.connections.add(id(self.connection))
        mode = self.path.strip("/")
        if mode == "chunked":
            self.send_response(202)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n0\r\n\r\n")
        elif mode == "close":
            self.send_response(500)
            self.send_header("Content-Length", "3")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"bad")
            self.close_connection = True
        else:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_statuses_framings_and_reuse() -> None:
    _Handler.seen, _Handler.connections = [], set()
    server = ThreadingHTTPServer((LOOPBACK, 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://{LOOPBACK}:{server.server_address[1]}"

    async def run() -> list[int]:
        pool = KeepAlivePool()
        out = [await pool.post(f"{base}/plain?x=1", b'{"a":1}', {"X-Test": "1"})]
        out.append(await pool.post(f"{base}/plain", b"{}", {}))  # reuses the connection
        out.append(await pool.post(f"{base}/chunked", b"{}", {}))
        out.append(await pool.post(f"{base}/close", b"{}", {}))  # the server closes after answering
        out.append(await pool.post(f"{base}/plain", b"{}", {}))  # so this one opens a new connection
        pool.close()
        return out

    try:
        statuses = asyncio.run(run())
    finally:
        server.shutdown()
    assert statuses == [200, 200, 202, 500, 200]
    assert _Handler.seen[0] == ("/plain?x=1", b'{"a":1}', "1")
    assert len(_Handler.connections) == 2  # four requests on the first connection, one on the second


def test_refused_connection_raises_os_error() -> None:

    async def run() -> None:
        await KeepAlivePool().post(f"http://{LOOPBACK}:{free_port()}/", b"{}", {})

    try:
        asyncio.run(run())
    except OSError:
        return
    raise AssertionError("a refused connection must raise")
