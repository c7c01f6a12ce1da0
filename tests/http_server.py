"""A local HTTP server on 127.0.0.1 for the downloaders' tests (tests/test_fetch*.py): each
route is a function that writes a recorded or misbehaving response. The `server` fixture
(tests/conftest.py) starts one per test."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class Server:
    """Routes: path -> function(handler, hit number, query) writing the response."""

    def __init__(self):
        self.routes, self.hits = {}, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parsed = urlparse(self.path)
                server.hits.append((parsed.path, dict(self.headers), parse_qs(parsed.query)))
                n = sum(1 for h in server.hits if h[0] == parsed.path)
                route = server.routes.get(parsed.path)
                if route is None:
                    self.send_error(404)
                    return
                route(self, n, parse_qs(parsed.query))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self, path):
        return sum(1 for h in self.hits if h[0] == path)


def send(handler, body: bytes, status=200, headers=None, declared=None):
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(declared if declared is not None else len(body)))
    handler.end_headers()
    handler.wfile.write(body)
