"""A small HTTP/1.1 client on asyncio streams, cheap enough to share two cores with the server.

One ``Browser`` is one simulated person: a cookie jar and one keep-alive connection, made from its own
loopback source address (127.x.y.z; Linux routes all of 127.0.0.0/8 to ``lo``). The target is always
127.0.0.1. Distinct source addresses let the per-address sign-in limits (allauth's 60 sign-in attempts
a minute per address, Threshold's 20 free failures per address) see many visitors, as in real traffic,
instead of one address sending thousands of sign-ins.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlencode

TARGET_HOST = "127.0.0.1"
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 threshold-bench"
)
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class BenchError(Exception):
    """A response the benchmark did not expect (wrong status, missing cookie or token)."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    seconds: float

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


def source_address(block: int, index: int) -> str:
    """A distinct loopback address per (block, index): 127.<block>.<hi>.<lo>, never .0 or .255."""
    if not 1 <= block <= 254 or not 0 <= index < 250 * 250:
        raise ValueError((block, index))
    return f"127.{block}.{1 + index // 250}.{1 + index % 250}"


def loopback_sources_work() -> bool:
    """Whether this machine lets a socket bind to 127.x.y.z other than 127.0.0.1 (Linux does)."""
    probe = socket.socket()
    try:
        probe.bind(("127.254.1.1", 0))
        return True
    except OSError:
        return False
    finally:
        probe.close()


class Browser:
    def __init__(self, port: int, source: str = TARGET_HOST, *, timeout: float = 30.0) -> None:
        self.port = port
        self.source = source
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0
        self.origin = f"http://{TARGET_HOST}:{port}"

    async def connect(self) -> None:
        await self.close()
        self.reader, self.writer = await asyncio.open_connection(
            TARGET_HOST, self.port, local_addr=(self.source, 0)
        )
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connects += 1

    async def close(self) -> None:
        writer, self.writer, self.reader = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _request_bytes(self, method: str, path: str, form: dict[str, str] | None) -> bytes:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {TARGET_HOST}:{self.port}",
            f"User-Agent: {USER_AGENT}",
            "Accept: text/html",
            "Accept-Language: en",
        ]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        body = b""
        if form is not None:
            body = urlencode(form).encode()
            lines += [
                "Content-Type: application/x-www-form-urlencoded",
                f"Content-Length: {len(body)}",
                f"Origin: {self.origin}",
                f"Referer: {self.origin}{path}",
            ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def _read_response(self, method: str) -> tuple[int, list[tuple[str, str]], bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = []
        for line in lines[1:]:
            if line:
                key, _, value = line.partition(":")
                headers.append((key.strip().lower(), value.strip()))
        fields = dict(headers)
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    while (await self.reader.readline()) not in (b"\r\n", b""):
                        pass
                    break
                parts.append((await self.reader.readexactly(size + 2))[:-2])
            body = b"".join(parts)
        elif "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        else:
            body = await self.reader.read()
            fields["connection"] = "close"
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, body

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        """One request; a kept-alive connection the server has closed meanwhile is reopened once."""
        data = self._request_bytes(method, path, form)
        for attempt in (1, 2):
            reused = self.writer is not None
            if not reused:
                await self.connect()
            assert self.writer is not None
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.timeout):
                    self.writer.write(data)
                    status, headers, body = await self._read_response(method)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                partial = getattr(exc, "partial", b"")
                if reused and attempt == 1 and not partial:
                    continue  # the server closed an idle keep-alive connection: reconnect and resend
                raise
            except TimeoutError:
                await self.close()
                raise
            seconds = time.perf_counter() - started
            self._remember_cookies(headers)
            return Response(status, headers, body, seconds)
        raise AssertionError("unreachable")

    def _remember_cookies(self, headers: list[tuple[str, str]]) -> None:
        for key, value in headers:
            if key != "set-cookie":
                continue
            pair, _, attributes = value.partition(";")
            name, _, cookie_value = pair.strip().partition("=")
            attrs = attributes.lower().replace(" ", "")
            if "max-age=0" in attrs or "expires=thu,01jan197000:00:00" in attrs:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie_value.strip('"')

    async def sign_in(self, email: str, password: str) -> tuple[Response, Response]:
        """GET the sign-in page (CSRF cookie and token), POST the credentials, expect 302 and a session."""
        page = await self.request("GET", "/accounts/login/")
        if page.status != 200:
            raise BenchError(f"GET /accounts/login/ answered {page.status}")
        match = CSRF_FIELD.search(page.body)
        if not match:
            raise BenchError("the sign-in page has no CSRF token")
        done = await self.request(
            "POST",
            "/accounts/login/",
            {"csrfmiddlewaretoken": match.group(1).decode(), "login": email, "password": password},
        )
        if done.status != 302 or done.header("location") != "/":
            raise BenchError(f"sign-in of {email} answered {done.status} {done.header('location')}")
        if not any(name.endswith("session") for name in self.cookies):
            raise BenchError(f"sign-in of {email} set no session cookie")
        return page, done

    async def csrf_token(self) -> str:
        page = await self.request("GET", "/accounts/login/")
        match = CSRF_FIELD.search(page.body)
        if page.status != 200 or not match:
            raise BenchError(f"GET /accounts/login/ answered {page.status} without a CSRF token")
        return match.group(1).decode()
