"""A fake Anthropic Messages API on 127.0.0.1 for tests and benchmarks (no network).

``FakeAPIServer`` answers ``POST /v1/messages`` from a ThreadingHTTPServer running in a thread, on an
ephemeral port. With ``output_config.format`` of type ``json_schema`` it answers schema-valid task
metadata (title derived from the ``Test class:`` line of the prompt, so answers differ per task),
otherwise a short text. Usage counts cache writes / reads when ``system`` carries ``cache_control``
(a prefix becomes readable only once a response that wrote it has finished, as the real API does).

Faults, decided per request index so runs are reproducible: ``script`` (index -> behaviour) wins, then
``rates`` drawn from a seeded hash of the index. Behaviours: ok, 429 (with retry-after), 529
(overloaded_error), 500, timeout (sleeps past the client's timeout), refusal (stop_reason "refusal"),
malformed (not JSON), invalid (JSON that breaks the schema), truncated (stop_reason "max_tokens").

The ``fake_api`` fixture starts and stops a server and points the SDK at it through
``ANTHROPIC_BASE_URL`` and a random ``ANTHROPIC_API_KEY=sk-test-...``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

BEHAVIOURS = ("ok", "429", "529", "500", "timeout", "refusal", "malformed", "invalid", "truncated")
_TEST_LINE = re.compile(r"^Test class: (\S+)", re.MULTILINE)
_SEQ_LINE = re.compile(r"^Sequences started: (.*)$", re.MULTILINE)
_CG_LINE = re.compile(r"^Covergroups in its testbench: (.*)$", re.MULTILINE)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # a burst of new connections must not overflow the listen backlog
    daemon_threads = True


@dataclass
class RecordedRequest:
    index: int
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes
    behaviour: str
    started: float
    ended: float = 0.0


@dataclass
class FakeConfig:
    latency: float | Callable[[int], float] = 0.0  # seconds, or a function of the request index
    rates: dict[str, float] = field(default_factory=dict)  # behaviour -> probability
    script: dict[int, str] = field(default_factory=dict)  # request index -> behaviour
    seed: int = 0
    retry_after: str | None = "1"  # header sent with 429 (None: no header)
    retry_after_ms: str | None = None
    timeout_sleep: float = 3.0  # how long a "timeout" request sleeps before giving up
    extra_names: list[str] = field(default_factory=list)  # unknown names added to answers
    hints: int = 4
    description_chars: int = 0  # pad every description to this many characters (an oversized answer)


class FakeAPIServer:
    def __init__(self, config: FakeConfig | None = None) -> None:
        self.config = config or FakeConfig()
        self.requests: list[RecordedRequest] = []
        self.api_key = ""  # set by the fixture: the dummy key the SDK sends
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._written_prefixes: set[str] = set()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeAPIServer:
        server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakeapi", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeAPIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- introspection ----------------------------------------------------------------------
    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    def behaviours(self) -> list[str]:
        with self._lock:
            return [r.behaviour for r in self.requests]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0

    # --- behaviour --------------------------------------------------------------------------
    def behaviour_for(self, index: int) -> str:
        cfg = self.config
        if index in cfg.script:
            return cfg.script[index]
        digest = hashlib.sha256(f"{cfg.seed}:{index}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        acc = 0.0
        for name in BEHAVIOURS:
            acc += cfg.rates.get(name, 0.0)
            if draw < acc:
                return name
        return "ok"

    def latency_for(self, index: int) -> float:
        lat = self.config.latency
        return float(lat(index)) if callable(lat) else float(lat)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {}
        with self._lock:
            index = len(self.requests)
            behaviour = self.behaviour_for(index)
            record = RecordedRequest(index, path, headers, body, raw, behaviour, time.monotonic())
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if path.split("?")[0] != "/v1/messages":
                return _error(404, "not_found_error", f"no route {path}")
            if behaviour == "timeout":
                self._sleep(self.config.timeout_sleep)
            else:
                self._sleep(self.latency_for(index))
            return self._respond(body, behaviour)
        finally:
            with self._lock:
                self.in_flight -= 1
                record.ended = time.monotonic()

    def _respond(self, body: dict[str, Any], behaviour: str) -> tuple[int, dict[str, str], bytes]:
        if behaviour == "429":
            headers = {}
            if self.config.retry_after is not None:
                headers["retry-after"] = self.config.retry_after
            if self.config.retry_after_ms is not None:
                headers["retry-after-ms"] = self.config.retry_after_ms
            status, h, data = _error(429, "rate_limit_error", "Number of requests has exceeded your rate limit")
            return status, {**h, **headers}, data
        if behaviour == "529":
            return _error(529, "overloaded_error", "Overloaded")
        if behaviour in ("500", "timeout"):
            return _error(500, "api_error", "Internal server error")
        usage = self._usage(body)
        structured = _wants_json(body)
        text = self._answer(body) if structured else "A short plain-text answer from the fake API."
        stop = "end_turn"
        if behaviour == "refusal":
            stop, text = "refusal", ""
        elif behaviour == "malformed":
            text = '{"title": "Broken answer", "difficulty": '
        elif behaviour == "invalid":
            text = json.dumps({"title": "Missing fields", "difficulty": "impossible"})
        elif behaviour == "truncated":
            stop, text = "max_tokens", text[: len(text) // 2]
        message = {
            "id": f"msg_fake_{secrets.token_hex(6)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        return 200, {"content-type": "application/json"}, json.dumps(message).encode()

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        system = body.get("system")
        messages_text = json.dumps(body.get("messages", []))
        usage = {"input_tokens": max(len(messages_text) // 4, 1), "output_tokens": 120}
        if isinstance(system, list) and any(isinstance(b, dict) and b.get("cache_control") for b in system):
            prefix = json.dumps(system, sort_keys=True)
            tokens = max(len(prefix) // 4, 1)
            digest = hashlib.sha256(prefix.encode()).hexdigest()
            with self._lock:
                readable = digest in self._written_prefixes
                self._written_prefixes.add(digest)
            usage["cache_read_input_tokens"] = tokens if readable else 0
            usage["cache_creation_input_tokens"] = 0 if readable else tokens
        elif system:
            usage["input_tokens"] += len(json.dumps(system)) // 4
        return usage

    def _answer(self, body: dict[str, Any]) -> str:
        prompt = _user_text(body)
        m = _TEST_LINE.search(prompt)
        test = m.group(1) if m else "unknown_test"
        seqs = _names(_SEQ_LINE.search(prompt))
        cgs = _names(_CG_LINE.search(prompt))
        words = [w for w in test.split("_") if w and w != "test"] or ["fake"]
        answer = {
            "title": " ".join(["Exercise", *words[:4], "traffic"]),
            "difficulty": ("easy", "medium", "hard")[len(test) % 3],
            "difficulty_reason": f"The fake API judged {test} by its name length.",
            "description": f"Recreate {test}. It drives stimulus. It checks results. It covers corners.".ljust(
                self.config.description_chars, "x"
            ),
            "goal": f"{test} passes with full coverage.",
            "hints": [f"Hint {i + 1} for {test}." for i in range(self.config.hints)],
            "covergroups": [*cgs, *self.config.extra_names],
            "sequences": [*seqs, *self.config.extra_names],
        }
        return json.dumps(answer)


def _user_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in body.get("messages", []):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [b.get("text", "") for b in content if isinstance(b, dict)]
    return "\n".join(parts)


def _names(match: re.Match[str] | None) -> list[str]:
    if not match or match.group(1).strip() == "-":
        return []
    return [n.strip() for n in match.group(1).split(",") if n.strip()]


def _wants_json(body: dict[str, Any]) -> bool:
    fmt = (body.get("output_config") or {}).get("format") or {}
    return fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict)


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    payload = {"type": "error", "error": {"type": kind, "message": message}}
    return status, {"content-type": "application/json"}, json.dumps(payload).encode()


def _make_handler(owner: FakeAPIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no delayed-ACK stall

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, data = owner.handle(self.path, headers, raw)
            try:
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return None

    return Handler


def serve_fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIServer]:
    """Start a fake API, point the SDK at it with a random dummy key, stop it afterwards."""
    server = FakeAPIServer().start()
    key = f"sk-test-{secrets.token_hex(16)}"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    server.api_key = key
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIServer]:
    """A started fake Messages API; the SDK is pointed at it with a random dummy key."""
    yield from serve_fake_api(monkeypatch)


# --- a synthetic repository + profile (tests and scripts/bench_build.py) ---------------------------


def _decl(text: str, name: str) -> tuple[int, int, int, int]:
    """Byte span and lines of ``class name`` ... ``endclass`` in ``text`` (ASCII)."""
    start = text.index(f"class {name} ")
    if text[max(start - 8, 0) : start] == "virtual ":
        start -= 8
    end = text.index("endclass", start) + len("endclass")
    return start, end, text.count("\n", 0, start) + 1, text.count("\n", 0, end) + 1


def make_synthetic_repo(root: Any, n_tests: int, name: str = "synth") -> Any:
    """Write a small UVM-like repo under ``root`` (a Path) and return its hand-built Profile.

    One env with a coverage collector (two covergroups), a virtual base test, a shared sequence, and
    ``n_tests`` tests, each in its own file with one exclusive sequence (constraints vary per test).
    """
    from pathlib import Path

    from dvsmith.analysis.profile import (
        ClassDecl,
        ComponentInfo,
        CovergroupInfo,
        Profile,
        SequenceInfo,
        Span,
        TestInfo,
    )

    root = Path(root)
    files: dict[str, str] = {}
    files["tb/env.sv"] = (
        "class bus_item extends uvm_sequence_item;\n  rand bit [7:0] addr;\n  rand bit [3:0] len;\n"
        "endclass\n\n"
        "class bus_cov extends uvm_subscriber #(bus_item);\n"
        "  covergroup cg_addr; cp_addr: coverpoint item.addr; endgroup\n"
        "  covergroup cg_len; cp_len: coverpoint item.len; endgroup\n"
        "endclass\n\n"
        "class bus_env extends uvm_env;\n  bus_cov cov;\nendclass\n"
    )
    files["tb/base_test.sv"] = (
        "virtual class base_test extends uvm_test;\n  bus_env env;\n"
        '  function void build_phase(uvm_phase phase);\n    env = bus_env::type_id::create("env", this);\n'
        "  endfunction\nendclass\n"
    )
    files["tb/common_seq.sv"] = (
        "class common_seq extends uvm_sequence #(bus_item);\n  task body();\n    `uvm_do(req)\n  endtask\nendclass\n"
    )
    test_names = [f"t{i:03d}_{('read', 'write', 'burst', 'reset')[i % 4]}_test" for i in range(n_tests)]
    for i, tname in enumerate(test_names):
        constraints = "".join(f"  constraint c{j} {{ addr != {j}; }}\n" for j in range(i % 3))
        files[f"tests/{tname}.sv"] = (
            f"class {tname}_seq extends uvm_sequence #(bus_item);\n{constraints}"
            "  task body();\n"
            + "".join(f"    `uvm_do_with(req, {{ len == {k}; }})\n" for k in range(1 + i % 4))
            + "  endtask\nendclass\n\n"
            f"class {tname} extends base_test;\n"
            "  task run_phase(uvm_phase phase);\n    phase.raise_objection(this);\n"
            f'    {tname}_seq::type_id::create("s").start(env.agent.sqr);\n'
            + ('    common_seq::type_id::create("c").start(env.agent.sqr);\n' if i % 2 else "")
            + "    phase.drop_objection(this);\n  endtask\nendclass\n"
        )
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def span(rel: str, cls: str) -> tuple[Span, int]:
        s, e, line, end_line = _decl(files[rel], cls)
        return Span(start=s, end=e, line=line, end_line=end_line), line

    classes: list[ClassDecl] = []
    tests: list[TestInfo] = []
    seqs: list[SequenceInfo] = []
    sp, ln = span("tb/base_test.sv", "base_test")
    base_chain = ["uvm_test"]
    tests.append(
        TestInfo(
            name="base_test",
            file="tb/base_test.sv",
            line=ln,
            base_class="uvm_test",
            is_base=True,
            is_virtual=True,
            base_chain=base_chain,
            span=sp,
        )
    )
    classes.append(
        ClassDecl(
            name="base_test",
            file="tb/base_test.sv",
            line=ln,
            base_class="uvm_test",
            base_chain=base_chain,
            is_virtual=True,
            kind="test",
            span=sp,
        )
    )
    sp, ln = span("tb/common_seq.sv", "common_seq")
    seqs.append(
        SequenceInfo(
            name="common_seq",
            file="tb/common_seq.sv",
            line=ln,
            base_class="uvm_sequence",
            base_chain=["uvm_sequence"],
            span=sp,
        )
    )
    for i, tname in enumerate(test_names):
        rel = f"tests/{tname}.sv"
        sp, ln = span(rel, f"{tname}_seq")
        seqs.append(
            SequenceInfo(
                name=f"{tname}_seq",
                file=rel,
                line=ln,
                base_class="uvm_sequence",
                base_chain=["uvm_sequence"],
                span=sp,
            )
        )
        sp, ln = span(rel, tname)
        started = [f"{tname}_seq"] + (["common_seq"] if i % 2 else [])
        tests.append(
            TestInfo(
                name=tname,
                file=rel,
                line=ln,
                base_class="base_test",
                sequences=started,
                base_chain=["base_test", "uvm_test"],
                span=sp,
            )
        )
    return Profile(
        name=name,
        repo_root=str(root),
        created_at="2026-01-01T00:00:00+00:00",
        fingerprint=f"synthetic-{n_tests}",
        tests=tests,
        sequences=seqs,
        sequence_items=[ComponentInfo(name="bus_item", file="tb/env.sv", line=1, base_class="uvm_sequence_item")],
        envs=[ComponentInfo(name="bus_env", file="tb/env.sv", line=10, base_class="uvm_env")],
        covergroups=[
            CovergroupInfo(name="cg_addr", file="tb/env.sv", line=6, scope="bus_cov", coverpoints=["cp_addr"]),
            CovergroupInfo(name="cg_len", file="tb/env.sv", line=7, scope="bus_cov", coverpoints=["cp_len"]),
        ],
        classes=classes,
    )


def synthetic_requests(profile: Any) -> list[Any]:
    """One MetadataRequest per non-base test of a synthetic profile (its own sequence is removed)."""
    from dvsmith.ai.metadata import MetadataRequest

    return [
        MetadataRequest(
            task_id=t.name.replace("_", "-"), test_name=t.name, test_file=t.file, sequences=[f"{t.name}_seq"]
        )
        for t in profile.tests
        if not t.is_base
    ]
