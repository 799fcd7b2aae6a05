"""A test HTTP/2 server on hypercorn (the ``h2`` state machine underneath).

Usage: python hypercorn_server.py '{"tls": false, "max_streams": 100, "cert": .., "key": ..}'
Prints ``PORT <n>`` once listening on 127.0.0.1; behaviour is chosen by the request path.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

Scope = dict[str, Any]


async def read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/never":
        await asyncio.sleep(3600)
    body = await read_body(receive)
    headers = [(b"content-type", b"application/json")]
    if path == "/echo-body":
        payload = body
    elif path == "/big-headers":
        size = int(scope["query_string"].decode().split("=")[1])
        headers.append((b"x-big", b"b" * size))
        payload = b""
    else:
        info = {
            "method": scope["method"],
            "path": path,
            "headers": {k.decode(): v.decode() for k, v in scope["headers"]},
            "length": len(body),
        }
        payload = json.dumps(info).encode()
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    options = json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.set_inheritable(True)
    config = Config()
    config.h2_max_concurrent_streams = options.get("max_streams", 100)
    config.h2_max_header_list_size = 2**20
    config.loglevel = "WARNING"
    if options.get("tls"):
        config.certfile, config.keyfile = options["cert"], options["key"]
        config.bind = [f"fd://{sock.fileno()}"]
    else:
        config.insecure_bind = [f"fd://{sock.fileno()}"]
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    asyncio.run(serve(app, config))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
