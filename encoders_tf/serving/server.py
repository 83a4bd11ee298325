"""A local HTTP server with TensorFlow Serving's REST API, for trying exported models.

Production serving is `tensorflow_model_server`; this server answers the same REST requests from Python
(`tf.saved_model.load`), with nothing more to install.
"""

from __future__ import annotations

import http
import http.server
import json
import logging
import signal
import sys
import threading
import time

from encoders_tf.serving.repository import ModelRepository, ServeError
from encoders_tf.serving.rest_api import RestApi

log = logging.getLogger("encoders_tf.serving")

MAX_BODY_BYTES = 10 * 1024 * 1024
_DRAIN_LIMIT = 64 * 1024 * 1024  # an oversized body is read and dropped up to this size, so the client gets the 413
_CHUNK = 64 * 1024


class ModelServer:
    """Serves the models under `base` over TF Serving's REST API, in background threads.

    Every version directory of every model is loaded (`tf.saved_model.load`); the highest version is the
    default. A thread looks at `base` every `poll_seconds`: new versions are loaded, versions whose directory
    is gone are dropped. Requests are answered concurrently, one thread each.

    Args:
        base: the model base path root: models listed in `base`/models.config, else every subdirectory that
            holds integer version directories.
        host: the address to listen on.
        port: the port; 0 picks a free one (see the port `start()` returns).
        poll_seconds: how often to look for new and removed versions.
        max_body_bytes: the largest request body accepted; larger ones get HTTP 413.

    Example:
    >>> import urllib.request
    >>> with ModelServer("saved_models", port=0) as server:
    ...     print(urllib.request.urlopen(f"{server.url}/v1/models/demo").read().decode())
    {"model_version_status": [{"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", ...}}]}
    """

    def __init__(self, base="saved_models", host="127.0.0.1", port=8501, poll_seconds=2.0,
                 max_body_bytes=MAX_BODY_BYTES):
        if not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be a positive number, got {poll_seconds!r}")
        if not (isinstance(max_body_bytes, int) and max_body_bytes > 0):
            raise ValueError(f"max_body_bytes must be a positive integer, got {max_body_bytes!r}")
        self.repository = ModelRepository(base)
        self.host, self.port = host, port
        self.poll_seconds, self.max_body_bytes = poll_seconds, max_body_bytes
        self._http = None
        self._threads = []
        self._stopping = threading.Event()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def models(self):
        """{model name: [versions loaded and available, ascending]} for models with at least one."""
        snapshot = self.repository.snapshot()
        available = {name: sorted(v for v, entry in known.items() if entry.available)
                     for name, known in snapshot.items()}
        return {name: found for name, found in available.items() if found}

    def start(self):
        """Loads the models, starts listening and polling; returns the port it listens on.

        Raises:
            ServeError: `base` is not a directory, models.config is invalid, or the port cannot be bound.
        """
        if self._http is not None:
            raise RuntimeError(f"the server is already running on {self.url}")
        self.repository.refresh()
        try:
            self._http = _HTTPServer((self.host, self.port), RestApi(self.repository), self.max_body_bytes)
        except OSError as error:
            raise ServeError(f"cannot listen on {self.host}:{self.port}: {error.strerror or error} (choose "
                             f"another port, or 0 for any free one)") from None
        self.port = self._http.server_address[1]
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.2},
                             name="encoders-tf-http", daemon=True),
            threading.Thread(target=self.repository.poll, args=(self._stopping, self.poll_seconds),
                             name="encoders-tf-poll", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self.port

    def stop(self):
        """Stops listening and polling (requests under way are cut off). Stopping twice is harmless."""
        if self._http is None:
            return
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads:
            thread.join()
        self._http, self._threads = None, []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()


def serve(base="saved_models", host="127.0.0.1", port=8501, poll_seconds=2.0, max_body_bytes=MAX_BODY_BYTES):
    """Serves the models under `base` until Ctrl-C, after printing `serving N models from BASE on URL`.

    Args:
        base: the model base path root (models.config, else every model directory in it).
        host: the address to listen on.
        port: the port; 0 picks a free one (printed).
        poll_seconds: how often to look for new and removed versions.
        max_body_bytes: the largest request body accepted; larger ones get HTTP 413.

    Raises:
        ServeError: `base` is not a directory, models.config is invalid, or the port cannot be bound.

    Example (serves until Ctrl-C)::

        serve("saved_models", port=8501)  # prints: serving 2 models from saved_models on http://127.0.0.1:8501
    """
    with ModelServer(base, host, port, poll_seconds, max_body_bytes) as server:
        count = len(server.models())
        _listen_for_ctrl_c()  # before the line that says it serves: a Ctrl-C sent on reading it must count
        try:  # the print too: a Ctrl-C sent on reading the line can arrive before print returns
            print(f"serving {count} model{'' if count == 1 else 's'} from {base} on {server.url}", flush=True)
            while True:  # short sleeps: a Ctrl-C that another thread caught is acted on within half a second
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


def _listen_for_ctrl_c():
    """Ctrl-C (SIGINT) raises KeyboardInterrupt here even when this process inherited it ignored (a background job
    of a script) or blocked (a parent whose libraries block it): else the server would never stop on it."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() does not wait for idle keep-alive connections
    request_queue_size = 128  # connections waiting to be accepted (socketserver's 5 resets bursts of clients)

    def __init__(self, address, api, max_body_bytes):
        self.api, self.max_body_bytes = api, max_body_bytes
        super().__init__(address, _RequestHandler)

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away: nothing to answer
        log.exception("request from %s failed", client_address)


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every reply carries Content-Length
    server_version = "encoders-tf"
    timeout = 60  # seconds a connection may stay silent

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # the API says which method a URL takes

    def _handle(self):
        body = self._read_body()
        if body is None:
            return
        try:
            status, payload = self.server.api.handle(self.command, self.path, body)
        except Exception as error:  # a failed request never takes the server down
            log.exception("%s %s failed", self.command, self.path)
            status, payload = 500, {"error": f"internal error answering {self.command} {self.path}: "
                                             f"{type(error).__name__}: {error}"}
        self._reply(status, payload)

    def _read_body(self):
        """The request body, or None after replying with an error (411, 400, 413)."""
        if "Transfer-Encoding" in self.headers:
            return self._refuse(411, f"Transfer-Encoding {self.headers['Transfer-Encoding']!r} is not "
                                     f"supported: send the body with a Content-Length header")
        length = self.headers.get("Content-Length")
        if length is None:
            if self.command == "POST":
                return self._refuse(411, "a POST needs a Content-Length header (the JSON body's size in bytes)")
            return b""
        if not length.isdigit():
            return self._refuse(400, f"Content-Length must be a number of bytes, got {length!r}")
        if int(length) > self.server.max_body_bytes:
            self._refuse_too_large(int(length))
            self._drain(int(length))
            return None
        body = self.rfile.read(int(length))
        if len(body) < int(length):  # the client closed the connection early
            self.close_connection = True
            return None
        return body

    def handle_expect_100(self):
        """Refuses an oversized body before the client sends it (curl asks first for large bodies)."""
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.server.max_body_bytes:
            self._refuse_too_large(int(length))
            return False
        return super().handle_expect_100()

    def _refuse_too_large(self, length):
        limit = self.server.max_body_bytes
        self._refuse(413, f"request body of {length} bytes is over the limit of {limit} bytes "
                          f"({limit / 2**20:.1f} MiB): send fewer instances per request")

    def _refuse(self, status, message):
        """Replies with an error and closes the connection (its unread body would spoil the next request)."""
        self.close_connection = True
        self._reply(status, {"error": message})

    def _drain(self, length):
        """Reads and drops an unwanted body (up to a limit), so that the client can read the reply."""
        remaining = min(length, _DRAIN_LIMIT)
        try:
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, _CHUNK))
                if not chunk:
                    return
                remaining -= len(chunk)
        except OSError:
            return

    def send_error(self, code, message=None, explain=None):
        """http.server's own refusals (malformed request line, oversized headers, ...) as `{"error": ...}`."""
        self.close_connection = True
        self._reply(code, {"error": message or explain or http.HTTPStatus(code).phrase})

    def _reply(self, status, payload):
        body = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002  (http.server's parameter name)
        log.debug("%s - %s", self.address_string(), format % args)
