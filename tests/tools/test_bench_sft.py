"""tools/bench/sft_throughput.py runs all its sides end to end and prints the comparison table."""
import os
import re
import subprocess
import sys

from trainer.models import precision

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_sft_benchmark_prints_three_sides_and_ratios_on_a_tiny_model():
    cmd = [sys.executable, os.path.join(REPO, "tools", "bench", "sft_throughput.py"), "--model=tiny_gemma",
           "--steps=1", "--warmup=1", "--examples=12", "--seq_len=256"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    main_table = out.stdout.split("carelora step with logits")[0]
    lines = {line[:20].strip(): line[20:] for line in main_table.splitlines() if len(line) > 20}
    speed = [float(x.rstrip("x")) for x in lines["response tokens/s"].split()]
    assert len(speed) == 5 and all(v > 0 for v in speed)  # three sides, then two ratios
    assert abs(speed[3] - speed[2] / speed[0]) < 0.01 * speed[3] + 0.01
    # Keras' jit_compile="auto" is off on a CPU-only machine; ours picks bf16 where this CPU runs it
    # natively (then XLA off: XLA's CPU backend runs bf16 at float32 speed), else float32 with XLA.
    ours = "bf16, XLA off" if precision.resolve("auto").bf16 else "fp32, XLA on"
    assert re.findall(r"(?:fp32|bf16), XLA (?:on|off)", lines["weights, XLA"]) == ["fp32, XLA off", "bf16, XLA off", ours]
    assert "all positions" in out.stdout and "response only" in out.stdout
