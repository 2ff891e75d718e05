"""When compiles run: how many at once the machine allows, the step a running one is at, and a count of them.

A Verilator compile of a UVM bench takes ~3 GB and every core; ``compile_slot()`` is the per-event-loop
semaphore every compile holds. ``$DVSMITH_COMPILE_LOG`` gets one JSON line per real compile, so a CI run
or a benchmark can count its compiles across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import orjson

from dvsmith.sim.base import StepCallback

_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


COMPILE_MEMORY_GB = 3.5  # what one Verilator compile of a UVM bench takes at its peak (measured ~3 GB)


CORES_PER_COMPILE = 2  # below 2 cores per compile, compiles at once are slower than one after the other


def compile_slots() -> int:
    """How many compiles may run at once: ``$DVSMITH_SIM_COMPILES`` when set, else as many as the memory
    and the cores allow (each one runs make with several jobs). Measured on 2 cores (scripts/bench_compile.py,
    the smoke bench): gym + original at once took 207.7 s, one after the other 174.4 s; so two at once
    need 4 cores."""
    raw = os.environ.get("DVSMITH_SIM_COMPILES")
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            return 1
    available_gb = _mem_available_gb()
    if available_gb is None:
        return 1
    by_memory = 2 if available_gb >= 2 * COMPILE_MEMORY_GB + 1.0 else 1
    by_cores = max(1, (os.cpu_count() or 1) // CORES_PER_COMPILE)
    return min(by_memory, by_cores)


def _mem_available_gb() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        return None
    return None


def compile_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    sem = _slots.get(loop)
    if sem is None:
        for old in [lp for lp in _slots if lp.is_closed()]:
            del _slots[old]
        sem = _slots[loop] = asyncio.Semaphore(compile_slots())
    return sem


async def watch_compile(obj: Path, progress: StepCallback, every_s: float = 1.0) -> None:
    """Report the step a running compile is at, read from its output folder: Verilator first writes the
    C++ (``verilating``), then make builds the objects its ``*_classes.mk`` lists (``C++ n/m``), then links."""
    last = ""
    while True:
        objects = _make_objects(obj)
        if not objects:
            text = "verilating"
        else:
            done = sum(1 for name in objects if (obj / f"{name}.o").is_file())
            text = f"C++ {done}/{len(objects)} objects" if done < len(objects) else "linking"
        if text != last:
            progress(text)
            last = text
        await asyncio.sleep(every_s)


def _make_objects(obj: Path) -> list[str]:
    """The object files Verilator's generated make include lists (empty until it is written)."""
    try:
        mk = next(obj.glob("*_classes.mk"))
        text = mk.read_text(errors="replace")
    except (StopIteration, OSError):
        return []
    names: list[str] = []
    in_list = False
    for line in text.splitlines():
        if line.startswith("VM_") and line.rstrip().endswith("+= \\"):
            in_list = True
            continue
        if in_list:
            item = line.strip().rstrip("\\").strip()
            if not item:
                in_list = False
                continue
            names.append(item)
    return names


def record_compile(key: str, unit: str, seconds: float, ok: bool) -> None:
    """Append one JSON line per real (not cached) compile to ``$DVSMITH_COMPILE_LOG`` when it is set:
    how a CI run or a benchmark counts its compiles across processes."""
    target = os.environ.get("DVSMITH_COMPILE_LOG")
    if not target:
        return
    line = orjson.dumps({"key": key, "unit": unit, "seconds": round(seconds, 3), "ok": ok, "pid": os.getpid()})
    with contextlib.suppress(OSError), open(target, "ab") as fh:  # one write of one line: O_APPEND keeps it whole
        fh.write(line + b"\n")
