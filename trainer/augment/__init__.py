"""Augmentation of the prepared training split that keeps every fact exact (DESIGN.md §1).

config (settings, no TensorFlow), masking (where each fact is stated; placeholders; re-rendering
a fact the way the source wrote it), generators (edge cases from a spec, LM paraphrase and
back-translation), similarity (MiniLM or a lexical stand-in), filters (each with a reason code),
lm (batched, cached base-LM generation), stage (`--mode=augment`).
"""
