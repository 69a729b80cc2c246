"""`python -m stack.registry_proxy`: the schema registry behind HTTPS and basic auth, as Confluent Cloud serves it.

A loopback reverse proxy in the standard library only (it starts in a fraction of a second and adds no JVM): TLS with
the stack's server certificate, a request without the `sluice` user's `Authorization: Basic` refused with 401 and
`WWW-Authenticate`, every other request forwarded (method, path, headers, body) to the plain registry, whose answer
goes back unchanged. A client certificate is optional and, when offered, must be signed by the stack's CA.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import http.client
import json
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Connection-level headers (RFC 9110 7.6.1) stay on their own hop; the proxy sets Content-Length itself.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "transfer-encoding", "upgrade", "content-length"})
UPSTREAM_TIMEOUT_S = 60.0
IDLE_TIMEOUT_S = 60.0


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's requests share one TLS handshake
    timeout = IDLE_TIMEOUT_S
    server: ProxyServer

    def _refuse(self) -> None:
        body = json.dumps({"error_code": 401, "message": "Unauthorized"}).encode()
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="sluice schema registry"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers, up to the blank line
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self) -> None:
        body = self._body()  # read even when refused, so the connection stays usable
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), self.server.expected().encode()):
            self._refuse()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"authorization"}}
        headers |= {"X-Forwarded-Proto": "https", "X-Forwarded-For": self.client_address[0]}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        upstream = http.client.HTTPConnection(*self.server.upstream, timeout=UPSTREAM_TIMEOUT_S)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
        except OSError as exc:
            self.send_error(502, f"schema registry at {self.server.upstream[0]}:{self.server.upstream[1]}: {exc}")
            return
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if isinstance(code, int) and code >= 400:  # the log keeps refusals and failures, not every schema lookup
            super().log_request(code, size)


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, listen: tuple[str, int], upstream: tuple[str, int], context: ssl.SSLContext, user: str,
                 password_file: Path):
        super().__init__(listen, ProxyHandler)
        self.upstream, self.user, self.password_file = upstream, user, password_file
        self.expected()  # an unreadable password file fails the start, not the first request
        # The handshake runs in the request's thread (finish_request), so a slow or broken client never holds up
        # accept().
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def expected(self) -> str:
        """The Authorization header that passes, read for each request: a password made anew by `./dev up` holds
        at once, as it does for Kafka."""
        return basic_auth(self.user, self.password_file.read_text().strip())

    def finish_request(self, request, client_address) -> None:
        try:
            request.settimeout(IDLE_TIMEOUT_S)
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            print(f"TLS handshake with {client_address[0]}:{client_address[1]} failed: {exc}", file=sys.stderr,
                  flush=True)
            return
        super().finish_request(request, client_address)


def tls_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    context.load_verify_locations(ca)
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stack.registry_proxy", description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=_address, required=True, help="HOST:PORT to serve HTTPS on")
    parser.add_argument("--upstream", type=_address, required=True, help="HOST:PORT of the plain registry")
    parser.add_argument("--cert", type=Path, required=True, help="server certificate (PEM)")
    parser.add_argument("--key", type=Path, required=True, help="its private key (PEM)")
    parser.add_argument("--ca", type=Path, required=True, help="CA that signs optional client certificates")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-file", type=Path, required=True, help="the user's password (not on argv: ps)")
    args = parser.parse_args(argv)
    server = ProxyServer(args.listen, args.upstream, tls_context(args.cert, args.key, args.ca), args.user,
                         args.password_file)
    print(f"serving https://{args.listen[0]}:{args.listen[1]} -> http://{args.upstream[0]}:{args.upstream[1]}",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
