"""How closely floats must agree in these tests: the tolerance follows the operation.

CPU kinds differ (AVX2-only vs AVX-512 / AVX512-BF16): oneDNN and XLA pick different kernels and
summation orders, so float32 results differ in the last bits between machines. The rule:

- exact (assert_array_equal / ==) only where the result is reproducible by construction: the same
  computation twice in one process, a copy or a save/load round trip of the same values, integer
  or discrete outputs (token ids, counts, ratios of small integers);
- SAME_MATH: float32, the same math computed another way (a wrapped layer with a zero adapter, a
  merged vs an unmerged adapter): a few ulps per op over a tiny model's depth;
- PACKED: float32 attention over a packed row vs each example alone (different shapes and masks);
- TRAJECTORY: a short float32 training run vs its resumed or accumulated twin, where the
  differences above compound over steps;
- CROSS_IMPLEMENTATION: our model vs another library's (transformers), different kernels throughout;
- BF16: anything computed in bfloat16 (8 bits of mantissa).
"""
SAME_MATH = dict(rtol=1e-5, atol=1e-5)
PACKED = dict(rtol=0, atol=1e-4)
TRAJECTORY = dict(rtol=1e-4, atol=1e-6)
CROSS_IMPLEMENTATION = dict(rtol=0, atol=1e-3)
BF16 = dict(rtol=2e-2, atol=2e-2)
