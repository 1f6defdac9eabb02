"""A TF-Agents `TFAgent` whose `_train` is RLOO with a KL penalty to the frozen SFT adapter.

For a batch of prompts x k samples (rows grouped prompt-major: rows i*k .. i*k+k-1 share a prompt):
    kl_i   = sum_t mask * (log pi(y_t) - log pi_sft(y_t))        (sampled-token estimate, nats)
    r'_i   = r_i - kl_coef * kl_i                                (per-sequence penalty, as in TRL)
    A_i    = r'_i - mean_{j != i in the group} r'_j               (leave-one-out baseline)
    loss   = -mean_i A_i * sum_t mask * log pi(y_t)
The reference is the same base with the SFT adapter: its A/B values are kept (a few MB) and
swapped into the LoRA variables for one no-gradient forward, so there is never a second copy of
the base weights. log pi and log pi_sft in the KL both come from the same teacher-forced forward
(`token_log_probs`, no gradient), run twice in one compiled function in the same dtype, so the KL
is 0 up to float rounding while the policy equals the reference. The sampler's cached log-probs (policy
info) follow another path: in bf16 they differ from the teacher-forced ones by ~0.1 nats a message,
which read as KL at iteration 1 when they stood in for log pi. Only LoRA variables get gradients; the global norm
is clipped; the optimizer is a Keras 3 one (a tf.keras optimizer fails on Keras 3 variables, DESIGN §3).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf
from tf_agents.agents import tf_agent

from trainer.models import lora
from trainer.rl.policy import LMPolicy, token_log_probs


def rloo_advantages(rewards, k: int):
    """[B] -> [B]: each reward minus the mean of the other k-1 rewards of its group."""
    r = tf.reshape(tf.cast(rewards, tf.float32), [-1, k])
    baseline = (tf.reduce_sum(r, axis=1, keepdims=True) - r) / float(max(k - 1, 1))
    return tf.reshape(r - baseline, [-1])


class RLOOAgent(tf_agent.TFAgent):
    def __init__(self, policy: LMPolicy, optimizer, k: int, kl_coef: float = 0.05, clip_norm: float = 1.0,
                 reference_values: Sequence[np.ndarray] | None = None, jit_compile: bool = True):
        if k < 2:
            raise ValueError(f"RLOO needs k >= 2 samples per prompt, got {k}")
        self.bundle = policy.bundle
        self.k, self.kl_coef, self.clip_norm = int(k), float(kl_coef), float(clip_norm)
        self.temperature = policy.temperature if not policy.greedy else 1.0
        self.optimizer = optimizer
        self.lora_variables = list(self.bundle.backbone.trainable_variables)
        lora_ids = {id(v) for w in lora.lora_wrappers(self.bundle.backbone) for v in (w.lora_a, w.lora_b)}
        if not self.lora_variables or any(id(v) not in lora_ids for v in self.lora_variables):
            raise ValueError("the backbone's trainable variables must be exactly its LoRA A/B matrices")
        optimizer.build(self.lora_variables)
        values = reference_values if reference_values is not None else [v.numpy() for v in self.lora_variables]
        self.reference_values = [tf.constant(np.asarray(v, np.float32)) for v in values]
        super().__init__(policy.time_step_spec, policy.action_spec, policy, policy, train_sequence_length=1,
                         train_step_counter=tf.Variable(0, dtype=tf.int64, name="train_step"))
        # Keras 3's assign returns its input, not an op: swap through the tf.Variables underneath,
        # whose assigns order the reference forward and the restore inside one compiled step.
        self._tf_lora = [v.value for v in self.lora_variables]
        self._kl_forward = tf.function(self._kl_log_probs, jit_compile=jit_compile, autograph=False)
        self._step = tf.function(self._gradient_step, jit_compile=jit_compile, autograph=False)

    def _initialize(self):
        return tf.no_op()

    # ----------------------------------------------------------------------------------------
    def _reference_forward(self, prompt, length, tokens, mask, after=()):
        """Log-probs under the SFT adapter (its values swapped in after `after`, then back), restore ops."""
        with tf.control_dependencies(after):
            current = [tf.identity(v) for v in self._tf_lora]
        swaps = [v.assign(tf.cast(ref, v.dtype)) for v, ref in zip(self._tf_lora, self.reference_values)]
        with tf.control_dependencies(swaps):
            logp, _ = token_log_probs(self.bundle, prompt, length, tokens, mask, self.temperature)
        with tf.control_dependencies([logp]):
            restores = [v.assign(cur) for v, cur in zip(self._tf_lora, current)]
        return logp, restores

    def kl_per_sequence(self, prompt, length, tokens, mask):
        """KL estimate per sequence [B] (sum over its sampled tokens of log pi - log pi_sft, nats),
        and the policy's log-probs [B, T] it came from; what `_train` penalizes."""
        mask = tf.cast(mask, tf.float32)
        logp, ref_logp = self._kl_forward(prompt, length, tf.cast(tokens, tf.int32), mask)
        return tf.reduce_sum((logp - ref_logp) * mask, axis=1), logp

    def _kl_log_probs(self, prompt, length, tokens, mask):
        """(policy, reference) log-probs [B, T]: the same forward twice in one graph, no gradient.

        Not the gradient step's forward: a taped forward keeps intermediates for the backward pass,
        which changes graph fusions, and in bf16 that alone read as ~1e-3 nats of KL at iteration 1.
        """
        policy_logp, _ = token_log_probs(self.bundle, prompt, length, tokens, mask, self.temperature)
        ref_logp, restores = self._reference_forward(prompt, length, tokens, mask, after=[policy_logp])
        with tf.control_dependencies(restores):
            return tf.identity(policy_logp), tf.identity(ref_logp)

    def _gradient_step(self, prompt, length, tokens, mask, advantages):
        with tf.GradientTape() as tape:
            logp, _ = token_log_probs(self.bundle, prompt, length, tokens, mask, self.temperature)
            loss = -tf.reduce_mean(tf.stop_gradient(advantages) * tf.reduce_sum(logp, axis=1))
        grads = tape.gradient(loss, self.lora_variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, self.lora_variables)]
        grads, norm = tf.clip_by_global_norm(grads, self.clip_norm)
        self.optimizer.apply(grads, self.lora_variables)
        return loss, norm

    # ----------------------------------------------------------------------------------------
    def _train(self, experience, weights=None):
        squeeze = lambda x: tf.squeeze(x, axis=1) if x.shape.rank and x.shape[1] == 1 else x
        exp = tf.nest.map_structure(squeeze, experience)
        prompt, length = exp.observation["prompt"], exp.observation["length"]
        tokens, info = tf.cast(exp.action, tf.int32), exp.policy_info
        mask = tf.cast(info["mask"], tf.float32)
        reward = tf.cast(exp.reward, tf.float32)
        kl_seq, logp = self.kl_per_sequence(prompt, length, tokens, mask)
        shaped = reward - self.kl_coef * kl_seq
        advantages = rloo_advantages(shaped, self.k)
        loss, grad_norm = self._step(prompt, length, tokens, mask, advantages)
        self.train_step_counter.assign_add(1)
        groups = tf.reshape(reward, [-1, self.k])
        zero_var = tf.reduce_mean(tf.cast(tf.math.reduce_std(groups, axis=1) < 1e-6, tf.float32))
        n_tok = tf.reduce_sum(mask, axis=1)
        n_all = tf.maximum(tf.reduce_sum(mask), 1.0)
        extra = {"kl": tf.reduce_mean(kl_seq), "kl_per_token": tf.reduce_sum(kl_seq) / n_all,
                 "reward": tf.reduce_mean(reward), "shaped_reward": tf.reduce_mean(shaped),
                 "advantage_abs": tf.reduce_mean(tf.abs(advantages)), "grad_norm": grad_norm,
                 "zero_variance_groups": zero_var, "response_tokens": tf.reduce_mean(n_tok),
                 "entropy": tf.reduce_sum(info["entropy"] * mask) / n_all,
                 # How far the sampler's cached log-probs sit from the train forward's (dtype, path).
                 "sampler_logp_gap": tf.reduce_sum(tf.abs(info["log_probs"] - logp) * mask) / n_all}
        return tf_agent.LossInfo(loss=loss, extra=extra)
