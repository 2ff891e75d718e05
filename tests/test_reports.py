"""metrics.prom (prometheus_client), the Pushgateway push and JUnit XML of build, validate and eval,
through the CLI on a --sim none build of a fixture (no simulation; the fake Messages API for AI counts)."""

from __future__ import annotations

import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakeapi import FakeAPIServer
from tests.simkit import cli

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "a_class_per_file"
XSD = Path(__file__).resolve().parent / "data" / "junit.xsd"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "command"))
            out[(s.name, labels)] = s.value
    return out


def _ai_counts_match(prom: dict[Any, float], report: dict[str, Any]) -> None:
    ai = report["ai"]
    for key in ("calls", "retries", "failures", "cache_hits", "fallbacks"):
        assert prom[(f"dvsmith_ai_{key}_total", ())] == ai[key], key
    assert prom[("dvsmith_ai_tokens_total", (("kind", "in"),))] == ai["tokens_in"]
    assert prom[("dvsmith_ai_latency_seconds_count", ())] == ai["calls"]  # one sample per call
    assert prom[("dvsmith_ai_latency_p50_seconds", ())] == ai["p50_latency_s"]
    assert prom[("dvsmith_ai_latency_p95_seconds", ())] == ai["p95_latency_s"]


def _task_counts_match(prom: dict[Any, float], report: dict[str, Any]) -> None:
    valid = sum(1 for t in report["tasks"] if t["valid"])
    assert prom[("dvsmith_tasks_total", (("status", "valid"),))] == valid
    assert prom[("dvsmith_tasks_total", (("status", "invalid"),))] == len(report["tasks"]) - valid
    sim = report["sim"] or {"compiles": 0, "compiles_cached": 0, "runs": 0}
    assert prom[("dvsmith_compiles_total", ())] == sim["compiles"]
    assert prom[("dvsmith_compile_cache_hits_total", ())] == sim["compiles_cached"]
    assert prom[("dvsmith_runs_total", ())] == sim["runs"]
    for phase, seconds in report["phases"].items():
        assert prom[("dvsmith_phase_seconds", (("phase", phase),))] == seconds


def _junit(path: Path) -> Any:
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(str(XSD)).validate(str(path))  # raises on any violation
    import xml.etree.ElementTree as ET

    return ET.parse(path).getroot()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(FIXTURE, dest)
    assert cli({}, "ingest", str(dest)).returncode == 0
    return dest


def test_offline_build_writes_metrics_and_junit_equal_to_build_json(repo: Path, tmp_path: Path) -> None:
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    proc = cli({}, "build", "--provider", "offline", "--sim", "none", "--out", str(out), "--junit", str(junit),
               "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = orjson.loads((out / "build.json").read_bytes())
    prom = samples((out / "metrics.prom").read_text())
    _ai_counts_match(prom, report)
    _task_counts_match(prom, report)
    assert prom[("dvsmith_ok", ())] == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".metrics.prom")]  # atomic: no temp left
    root = _junit(junit)
    cases = root.findall("./testsuite/testcase")
    assert sorted(c.get("name") for c in cases) == sorted(t["id"] for t in report["tasks"])
    assert not root.findall(".//failure") and root.find("testsuite").get("failures") == "0"


def test_ai_counts_with_the_fake_api(repo: Path, tmp_path: Path, fake_api: FakeAPIServer) -> None:
    out = tmp_path / "out"
    for _ in range(2):  # the second build answers everything from the cache: counts move to cache_hits
        proc = cli({}, "build", "--provider", "anthropic", "--out", str(out), "--json")
        assert proc.returncode == 0, proc.stderr
        report = orjson.loads((out / "build.json").read_bytes())
        _ai_counts_match(samples((out / "metrics.prom").read_text()), report)
    assert report["ai"]["calls"] == 0 and report["ai"]["cache_hits"] == len(report["tasks"])


def test_validate_junit_reports_invalid_tasks_as_failures(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli({}, "build", "--provider", "offline", "--out", str(out)).returncode == 0
    leaked = out / "gym" / "tb" / "test" / "status_test.svh"  # a removed test planted back: static failure
    leaked.write_bytes((out / "oracle" / "status_test" / "tb" / "test" / "status_test.svh").read_bytes())
    junit, prom_file = tmp_path / "validate.xml", tmp_path / "validate.prom"
    proc = cli({}, "validate", str(out), "--junit", str(junit), "--metrics", str(prom_file), "--json")
    assert proc.returncode == 1
    report = orjson.loads(proc.stdout)
    root = _junit(junit)
    cases = {c.get("name"): c for c in root.findall("./testsuite/testcase")}
    invalid = {t["id"]: t for t in report["tasks"] if not t["valid"]}
    assert invalid, "planting a removed test made no task invalid"
    assert set(cases) == {t["id"] for t in report["tasks"]} | {"gym"}  # one case per task, plus the gym's own
    for tid, case in cases.items():
        failure = case.find("failure")
        if tid in invalid:
            assert failure is not None and failure.get("message") == invalid[tid]["invalid_reason"]
        elif tid != "gym":
            assert failure is None
    assert "changed since the build" in cases["gym"].find("failure").text
    assert int(root.find("testsuite").get("failures")) == len(invalid) + 1
    prom = samples(prom_file.read_text())
    _task_counts_match(prom, report)
    assert prom[("dvsmith_ok", ())] == 0


def test_eval_junit_and_metrics(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli({}, "build", "--provider", "offline", "--out", str(out)).returncode == 0
    (tmp_path / "empty").mkdir()
    batch = tmp_path / "b.jsonl"
    batch.write_text("".join(orjson.dumps({"task": t, "solution": ["empty"]}).decode() + "\n"
                             for t in ("status_test", "random_test")))  # fmt: skip
    junit, prom_file = tmp_path / "eval.xml", tmp_path / "eval.prom"
    proc = cli({}, "eval", str(out), "--batch", str(batch), "--junit", str(junit), "--metrics", str(prom_file))
    assert proc.returncode == 1
    root = _junit(junit)
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == ["status_test", "random_test"]
    assert all("empty" in c.find("failure").get("message") for c in cases)
    prom = samples(prom_file.read_text())
    assert prom[("dvsmith_evals_total", (("result", "failed"),))] == 2
    assert prom[("dvsmith_compiles_total", ())] == 0 and prom[("dvsmith_eval_score_count", ())] == 2


class _Gateway(BaseHTTPRequestHandler):
    pushes: ClassVar[list[tuple[str, str, bytes]]] = []

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).pushes.append((self.command, self.path, body))
        self.send_response(200)
        self.end_headers()

    do_PUT = do_POST = _record

    def log_message(self, *args: Any) -> None:
        return None


def test_metrics_push_to_a_pushgateway(repo: Path, tmp_path: Path) -> None:
    _Gateway.pushes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        out = tmp_path / "out"
        proc = cli({}, "build", "--provider", "offline", "--out", str(out), "--metrics-push", url, "--json")
        assert proc.returncode == 0, proc.stderr
    finally:
        server.shutdown()
        server.server_close()
    assert len(_Gateway.pushes) == 1
    method, path, body = _Gateway.pushes[0]
    assert method == "PUT" and path == "/metrics/job/dvsmith/command/build/profile/repo"
    pushed = samples(body.decode())
    assert pushed == samples((out / "metrics.prom").read_text())  # the same metrics as the file
    # an unreachable gateway is a warning, not a failed build
    proc = cli({}, "build", "--provider", "offline", "--out", str(out), "--metrics-push", url, "--json")
    assert proc.returncode == 0 and "could not push metrics" in proc.stderr


def test_the_ci_workflow_example_is_complete() -> None:
    yaml = pytest.importorskip("yaml")
    wf = yaml.safe_load((FIXTURE.parent.parent / "examples" / "ci" / "dvsmith.yml").read_text())
    steps = wf["jobs"]["gym"]["steps"]
    text = "\n".join(str(s.get("run", "")) + str(s.get("uses", "")) + str(s.get("with", "")) for s in steps)
    for needle in ("pip install 'dvsmith[sim]'", "dvsmith ingest", "--sim verilator", "--json", "--junit",
                   "actions/cache", "~/.dvsmith", "~/.ccache", "hashFiles", "upload-artifact", "build.json",
                   "exit 1"):  # fmt: skip
        assert needle in text, needle
    readme = (FIXTURE.parent.parent / "README.md").read_text()
    for section in ("## Export to Harbor", "## Export as a JSONL dataset", "## Running compiles and simulations",
                    "## CI: a GitHub Actions workflow", "examples/ci/dvsmith.yml"):  # fmt: skip
        assert section in readme
