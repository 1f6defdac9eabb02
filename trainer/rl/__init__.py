"""Reward fine-tuning: ratings -> reward model (+ automatic terms) -> TF-Agents RLOO with KL to the SFT adapter.

config (no TensorFlow), reward_model, rewards, specs, policy (TFPolicy), agent (TFAgent), compare, stage.
"""
