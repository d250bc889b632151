"""A reporter that keeps the reports it is given, and a one-shot fake extension."""

from __future__ import annotations

import socket
import threading
from typing import List, Optional

from lambda_graceful_shutdown.report import Report
from lambda_graceful_shutdown.reporter import Reporter


class Captured:
    def __init__(self) -> None:
        self.reports: List[Report] = []
        self.reporter = Reporter(self.reports.append)

    def types(self) -> List[str]:
        self.reporter.flush(5)
        return [r["type"] for r in self.reports]


class FakeExtension(threading.Thread):
    """Accepts report connections on 127.0.0.1 (port chosen by the kernel, read
    back), keeps each raw request and answers ``status``."""

    def __init__(self, status: int = 202, expect: int = 1) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.status = status
        self.expect = expect
        self.requests: List[bytes] = []
        self.done = threading.Event()
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self.server.settimeout(30)
            while len(self.requests) < self.expect:
                conn, _ = self.server.accept()
                with conn:
                    conn.settimeout(10)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += conn.recv(4096)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:"))
                    while len(body) < length:
                        body += conn.recv(4096)
                    self.requests.append(head + b"\r\n\r\n" + body)
                    conn.sendall(f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n\r\n".encode())
        except BaseException as e:
            self.error = e
        finally:
            self.server.close()
            self.done.set()
