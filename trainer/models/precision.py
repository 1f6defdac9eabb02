"""Which float type the frozen weights run in, chosen from the hardware at hand.

bfloat16 halves weight memory and, where the hardware has bf16 matmul units, doubles matmul
speed: TPUs, NVIDIA GPUs of compute capability 8.0 and later, and CPUs with AVX512-BF16 or AMX
(measured on Zen 4: ~415 GFLOP/s bf16 against ~200 float32 on two cores). On an AVX2-only CPU a
bf16 matmul is no faster than float32 (71 against 80 GFLOP/s measured) and only adds rounding, so
"auto" picks float32 there. Adapters and optimizer state stay float32 either way (lora.py).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from trainer.util import hardware

BFLOAT16, FLOAT32 = "bfloat16", "float32"
_ALIASES = {"bf16": BFLOAT16, "bfloat16": BFLOAT16, "fp32": FLOAT32, "float32": FLOAT32, "": FLOAT32}


@dataclasses.dataclass(frozen=True)
class Precision:
    dtype: str  # "bfloat16" | "float32"
    reason: str  # why, for the log

    @property
    def bf16(self) -> bool:
        return self.dtype == BFLOAT16


def _tf_devices() -> dict[str, Any]:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    capabilities = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        capabilities.append(tuple(details.get("compute_capability") or (0, 0)))
    return {"tpu": bool(tf.config.list_logical_devices("TPU")), "gpu_capabilities": capabilities}


def native_bf16(devices: Callable[[], dict[str, Any]] = _tf_devices, cpuinfo: str | None = None) -> Precision:
    """bfloat16 where the hardware runs it natively, else float32, with the reason."""
    found = devices()
    if found.get("tpu"):
        return Precision(BFLOAT16, "TPU: bf16 is its native matmul type")
    caps = found.get("gpu_capabilities") or []
    if caps:
        if all(c >= (8, 0) for c in caps):
            return Precision(BFLOAT16, f"GPU compute capability {min(caps)[0]}.{min(caps)[1]} >= 8.0 has bf16 tensor cores")
        return Precision(FLOAT32, f"GPU compute capability {min(caps)[0]}.{min(caps)[1]} < 8.0 has no bf16 tensor cores")
    flags = hardware.cpu_flags(cpuinfo)
    have = [f for f in hardware.BF16_CPU_FLAGS if f in flags]
    cpu = hardware.cpu_model(cpuinfo)
    if have:
        return Precision(BFLOAT16, f"CPU {cpu} has {'/'.join(have)}: native bf16 matmuls")
    return Precision(FLOAT32, f"CPU {cpu} lacks AVX512-BF16 and AMX: bf16 would be no faster than float32")


def resolve(setting: Any, devices: Callable[[], dict[str, Any]] = _tf_devices, cpuinfo: str | None = None) -> Precision:
    """`auto` -> native_bf16(); `bf16`/`bfloat16`, `fp32`/`float32` (or "") are taken as asked."""
    value = str(setting).strip().lower()
    if value == "auto":
        return native_bf16(devices, cpuinfo)
    if value in _ALIASES:
        return Precision(_ALIASES[value], f"set to {setting!r} in the config")
    raise ValueError(f"precision must be auto, bf16 or fp32 (bfloat16/float32), got {setting!r}")
