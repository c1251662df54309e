"""This machine, as the timings, the benchmarks and the performance page describe it (stdlib only).

The one place that reads the processor's model and flags and the memory: the runner stamps its
chapter timings with `machine_description()`, every benchmark its figures, and the performance
page shows `machine_facts()`.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# the CPU features that decide TensorFlow's oneDNN default (AVX-512 VNNI, AMX) and its speed
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "amx_tile")
CPUINFO = Path("/proc/cpuinfo")
MEMINFO = Path("/proc/meminfo")


def cpuinfo_field(name: str) -> str | None:
    """The first value of a /proc/cpuinfo field ('model name', 'flags'), or None (not Linux)."""
    if not CPUINFO.is_file():
        return None
    for line in CPUINFO.read_text(errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def cpu_model() -> str:
    """The processor's model name, else what the platform module knows."""
    return cpuinfo_field("model name") or platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """Which of CPU_FLAGS this processor lists (empty where /proc/cpuinfo is missing)."""
    flags = (cpuinfo_field("flags") or "").split()
    return [flag for flag in CPU_FLAGS if flag in flags]


def memory_bytes(kind: str = "total") -> int | None:
    """The machine's memory ('total') or what a new process can have without swapping
    ('available': MemAvailable), in bytes; the total where the available is unknown; None where
    the system does not say.
    """
    field = {"total": "MemTotal:", "available": "MemAvailable:"}[kind]
    if MEMINFO.is_file():
        for line in MEMINFO.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def machine_description() -> str:
    """A one-line description of this machine: CPU model, cores, Python version."""
    return f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def machine_facts() -> dict[str, object]:
    """What the performance page says about this machine: CPU, cores, flags, memory, Python."""
    total = memory_bytes("total")
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cpu_flags": cpu_flags(),
        "memory_gib": round(total / 2**30, 1) if total else None,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
