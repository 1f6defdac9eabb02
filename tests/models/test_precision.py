"""Precision follows the hardware: bf16 only where matmuls run natively in it."""
import pytest

from trainer.models import precision
from trainer.util import hardware

ZEN4 = "model name\t: AMD EPYC 9R14\nflags\t\t: fpu sse avx2 avx512f avx512_bf16 avx512vl\n"
AVX2 = "model name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx2 fma\n"
SAPPHIRE = "model name\t: Intel Xeon Platinum 8480+\nflags\t\t: avx2 avx512f amx_bf16 amx_tile\n"


def _cpu_only():
    return {"tpu": False, "gpu_capabilities": []}


@pytest.mark.parametrize("cpuinfo,dtype", [(ZEN4, "bfloat16"), (SAPPHIRE, "bfloat16"), (AVX2, "float32")])
def test_auto_on_cpus(cpuinfo, dtype):
    got = precision.resolve("auto", _cpu_only, cpuinfo)
    assert got.dtype == dtype
    assert hardware.cpu_model(cpuinfo) in got.reason


def test_auto_on_accelerators():
    assert precision.resolve("auto", lambda: {"tpu": True}, AVX2).dtype == "bfloat16"
    ampere = precision.resolve("auto", lambda: {"gpu_capabilities": [(8, 0)]}, AVX2)
    assert ampere.dtype == "bfloat16" and "8.0" in ampere.reason
    volta = precision.resolve("auto", lambda: {"gpu_capabilities": [(7, 0), (8, 6)]}, ZEN4)
    assert volta.dtype == "float32" and "7.0 < 8.0" in volta.reason  # the weakest GPU decides


def test_explicit_settings_win_and_bad_ones_are_named():
    assert precision.resolve("bf16", _cpu_only, AVX2).dtype == "bfloat16"
    assert precision.resolve("fp32", _cpu_only, ZEN4).dtype == "float32"
    assert precision.resolve("", _cpu_only, ZEN4).dtype == "float32"  # configs written before "auto"
    with pytest.raises(ValueError, match="'half'"):
        precision.resolve("half", _cpu_only, ZEN4)


def test_describe_names_the_model_and_flags():
    assert hardware.describe(ZEN4) == "AMD EPYC 9R14 [avx2 avx512f avx512_bf16]"
    assert hardware.describe(AVX2) == "AMD EPYC 7B13 [avx2]"


def test_this_machine_resolves():
    got = precision.resolve("auto")
    assert got.dtype in ("bfloat16", "float32") and got.reason
