"""What this machine's CPU is, read from /proc/cpuinfo (Linux); every benchmark number states it."""
from __future__ import annotations

import functools
import platform

# CPU flags that mean bfloat16 matmuls run natively (oneDNN uses them): AVX-512 BF16 (Zen 4,
# Cooper Lake and later) and Intel AMX tiles (Sapphire Rapids and later).
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def cpu_model(cpuinfo: str | None = None) -> str:
    """'AMD EPYC 9R14 96-Core Processor' (or the platform's processor name off Linux)."""
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        if line.lower().startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    for line in (_cpuinfo() if cpuinfo is None else cpuinfo).splitlines():
        if line.lower().startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def describe(cpuinfo: str | None = None) -> str:
    """One line for logs and benchmark tables: model and the vector/bf16 flags that matter here."""
    flags = cpu_flags(cpuinfo)
    shown = [f for f in ("avx2", "avx512f", *BF16_CPU_FLAGS) if f in flags]
    return f"{cpu_model(cpuinfo)} [{' '.join(shown) or 'no AVX2'}]"


def memory_gb(field: str = "VmRSS") -> float | None:
    """This process's resident memory (VmRSS) or its peak (VmHWM) in GiB, from /proc (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 2**20  # kB -> GiB
    except OSError:
        pass
    return None
