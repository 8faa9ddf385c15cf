"""The load generator: wrk (Debian's /usr/bin/wrk) with a Lua script per scenario.

Every scenario uses the same concurrency and duration; the script's ``done`` hook prints one
machine-readable line with the request count and latency percentiles.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WRK = shutil.which("wrk") or "/usr/bin/wrk"
CONNECTIONS = 16
THREADS = 2

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Result:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    socket_errors: int
    # The machine's 1-minute load average when the scenario ended (other work shows in it).
    load: float = 0.0

    @property
    def ok(self) -> bool:
        return self.requests > 0 and self.bad_status == 0 and self.socket_errors == 0


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Lua string literal for our ASCII data


def get_script(paths: list[str], headers: dict[str, str] | None = None) -> str:
    """Cycle through ``paths`` with GET requests (each wrk thread starts at the first)."""
    lines = [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in (headers or {}).items()]
    lines.append("paths = {" + ", ".join(lua_string(p) for p in paths) + "}")
    lines.append("i = 0")
    lines.append("request = function() i = i % #paths + 1; "
                 "return wrk.format('GET', paths[i]) end")
    return "\n".join(lines) + _DONE


def fixed_script(method: str, path: str, body: str,
                 headers: dict[str, str] | None = None) -> str:
    """The same request every time (e.g. a POST of a fixed JSON body)."""
    lines = [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in (headers or {}).items()]
    lines += [f"wrk.method = {lua_string(method)}", f"wrk.path = {lua_string(path)}",
              f"wrk.body = {lua_string(body)}"]
    return "\n".join(lines) + _DONE


def post_script(path: str, body_template: str, headers: dict[str, str] | None = None) -> str:
    """POST JSON to ``path``; ``body_template`` has one %s for a text unique per request."""
    lines = [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in (headers or {}).items()]
    lines += [
        "wrk.headers['Content-Type'] = 'application/json'",
        "local n = 0",
        "setup = function(thread) n = n + 1; thread:set('tid', n) end",
        # wrk seeds every run alike: seed from the clock so the warm-up and the measured run
        # never post the same text (the duplicate rule would answer 409).
        "init = function(args) "
        "math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1e6)) end",
        "counter = 0",
        f"template = {lua_string(body_template)}",
        "request = function() counter = counter + 1; "
        "local text = string.format('%d-%d-%d', math.random(1, 1000000000), tid or 0, counter); "
        f"return wrk.format('POST', {lua_string(path)}, nil, string.format(template, text)) end",
    ]
    return "\n".join(lines) + _DONE


def run(base_url: str, script: str, seconds: float,
        connections: int = CONNECTIONS) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        lua = Path(tmp) / "scenario.lua"
        lua.write_text(script)
        out = subprocess.run(
            [WRK, "-t", str(THREADS), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
             "--timeout", "10s", "-s", str(lua), base_url],
            capture_output=True, text=True, check=False, timeout=seconds + 60,
        )
    for line in out.stdout.splitlines():
        if line.startswith("BENCH "):
            requests, micros, p50, p99, bad, errors = (int(x) for x in line.split()[1:])
            return Result(requests, requests / (micros / 1e6) if micros else 0.0,
                          p50 / 1000, p99 / 1000, bad, errors)
    raise RuntimeError(f"wrk failed: {out.stdout}\n{out.stderr}")
