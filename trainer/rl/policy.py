"""A TF-Agents `TFPolicy` around the LoRA-adapted keras-hub LM: samples whole messages with the KV cache.

The LM is a keras-hub CausalLM sharing our backbone (`generate.make_causal_lm`), so the LoRA
wrappers apply while sampling. Prompts are right-padded (call_with_cache has no key padding mask,
so left padding would change the log-probs, DESIGN §3): decoding starts at the batch's shortest
prompt, and rows still inside their prompt are fed their own prompt tokens, as keras-hub's
generate does. Each row then gets `max_new_tokens` tokens after its own prompt, stopping at a stop
token (kept, masked in) and padding after it.

Policy info carries the sampled distribution's log-prob of every token (the logits divided by the
temperature, the distribution actually sampled from), a response mask and the per-token entropy.
`token_log_probs` recomputes the same log-probs with a full teacher-forced forward: the agent's
gradient and the reference (SFT) log-probs use it, and a test pins the two paths together.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf
from tf_agents.policies import tf_policy
from tf_agents.trajectories import policy_step

from trainer.models import causal_lm, generate
from trainer.models.backbones import ModelBundle
from trainer.rl import specs


def _build_cache(lm, family: str, token_ids, padding_mask):
    if family == "gemma3":
        return lm._build_cache(token_ids, None, None, padding_mask, None)
    if family == "gemma":
        return lm._build_cache(token_ids)
    return lm._build_cache(token_ids)


def full_sequences(prompt, length, tokens, mask):
    """[B, P + T] prompt_i[:L_i] + response_i + pad, and [B, P + T] 1/0 segment ids of the real tokens."""
    p, t = prompt.shape[1], tokens.shape[1]
    j = tf.range(p + t)[None, :]
    length = tf.cast(length, tf.int32)[:, None]
    index = tf.where(j < length, j, p + j - length)
    index = tf.clip_by_value(index, 0, p + t - 1)
    both = tf.concat([tf.cast(prompt, tf.int32), tf.cast(tokens, tf.int32)], axis=1)
    seq = tf.gather(both, index, batch_dims=1)
    n_resp = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)[:, None]
    valid = j < length + n_resp
    return tf.where(valid, seq, tf.zeros_like(seq)), tf.cast(valid, tf.int32)


def token_log_probs(bundle: ModelBundle, prompt, length, tokens, mask, temperature: float = 1.0):
    """Teacher-forced log-probs [B, T] of `tokens` after each prompt (0 where mask is 0), and entropy [B, T]."""
    seq, segments = full_sequences(prompt, length, tokens, mask)
    t = tokens.shape[1]
    positions = tf.broadcast_to(tf.range(seq.shape[1])[None, :], tf.shape(seq))
    hidden = causal_lm.hidden_states(bundle, seq, segments, positions, training=False)
    at = tf.cast(length, tf.int32)[:, None] - 1 + tf.range(t)[None, :]
    at = tf.clip_by_value(at, 0, seq.shape[1] - 1)
    logits = causal_lm.logits_at(bundle, hidden, at) / temperature
    logp_all = tf.nn.log_softmax(logits, axis=-1)
    logp = tf.gather(logp_all, tf.cast(tokens, tf.int32), batch_dims=2)
    entropy = -tf.reduce_sum(tf.exp(logp_all) * logp_all, axis=-1)
    m = tf.cast(mask, tf.float32)
    return logp * m, entropy * m


class LMPolicy(tf_policy.TFPolicy):
    """Samples a response per prompt; `info` holds its per-token log-probs, mask and entropy."""

    def __init__(self, bundle: ModelBundle, prompt_length: int, max_new_tokens: int, temperature: float = 1.0,
                 stop_token_ids: Sequence[int] | None = None, top_k: int = 0, greedy: bool = False,
                 jit_compile: bool = True, seed: int = 0):
        vocab = int(bundle.backbone.token_embedding.input_dim if hasattr(bundle.backbone.token_embedding, "input_dim")
                    else bundle.tokenizer.vocabulary_size())
        super().__init__(specs.time_step_spec(prompt_length), specs.action_spec(max_new_tokens, vocab),
                         info_spec=specs.info_spec(max_new_tokens), clip=False, validate_args=False,
                         name="lm_policy")
        self.bundle = bundle
        self.prompt_length, self.max_new_tokens = int(prompt_length), int(max_new_tokens)
        self.temperature, self.top_k, self.greedy = float(temperature), int(top_k), bool(greedy)
        self.stop_token_ids = tuple(int(i) for i in (stop_token_ids if stop_token_ids is not None else bundle.stop_token_ids))
        self.pad_id = int(bundle.pad_token_id)
        self.lm = generate.make_causal_lm(bundle, prompt_length + max_new_tokens, xla=False)
        # tf.Module tracking does not see Keras 3 variables: keep their tf.Variables here (DESIGN §3).
        self._lm_variables = [v.value for v in bundle.backbone.weights]
        self.seed = (int(seed), 0)
        self._sample_fn = tf.function(self._sample, jit_compile=jit_compile, autograph=False)

    def set_seed(self, seed: int, iteration: int) -> None:
        """Sampling is stateless: (seed, iteration) fixes the draws, so a resumed run draws the same."""
        self.seed = (int(seed), int(iteration))

    def _variables(self):
        return self._lm_variables

    # ----------------------------------------------------------------------------------------
    def _sample(self, prompt, length, seed):
        lm, family = self.lm, self.bundle.family
        b = tf.shape(prompt)[0]
        p, t = self.prompt_length, self.max_new_tokens
        total = p + t
        buf = tf.concat([prompt, tf.fill([b, t], tf.constant(self.pad_id, tf.int32))], axis=1)
        padding = tf.sequence_mask(length, total)
        _, cache = _build_cache(lm, family, buf, padding)
        start = tf.reduce_min(length)
        end = tf.minimum(tf.reduce_max(length) + t, total)
        stop_ids = tf.constant(self.stop_token_ids, tf.int32)
        cols = tf.range(total)[None, :]
        zeros = tf.zeros([b, total], tf.float32)
        done = tf.zeros([b], tf.bool)

        def body(index, buf, cache, logp_buf, ent_buf, active_buf, done):
            token_in = tf.slice(buf, [0, index - 1], [b, 1])
            logits, _, cache = lm.call_with_cache(token_in, cache, index - 1)
            logits = tf.cast(tf.squeeze(logits, 1), tf.float32)
            if self.greedy:
                sampled = tf.argmax(logits, axis=-1, output_type=tf.int32)
                scaled = logits
            else:
                scaled = logits / self.temperature
                if self.top_k:
                    kth = tf.math.top_k(scaled, self.top_k).values[:, -1:]
                    scaled = tf.where(scaled < kth, tf.constant(-1e9, tf.float32), scaled)
                step_seed = tf.stack([tf.cast(seed[0], tf.int32), tf.cast(seed[1], tf.int32) * 65536 + index])
                sampled = tf.cast(tf.random.stateless_categorical(scaled, 1, step_seed)[:, 0], tf.int32)
            logp_all = tf.nn.log_softmax(scaled, axis=-1)
            in_prompt = index < length
            gen_pos = index - length
            active = tf.logical_and(tf.logical_and(~in_prompt, gen_pos < t), ~done)
            own = buf[:, index]
            token = tf.where(in_prompt, own, tf.where(active, sampled, tf.fill([b], tf.constant(self.pad_id, tf.int32))))
            lp = tf.gather(logp_all, token, batch_dims=1)
            ent = -tf.reduce_sum(tf.exp(logp_all) * logp_all, axis=-1)
            at = tf.equal(cols, index)
            buf = tf.where(at, token[:, None], buf)
            af = tf.cast(active, tf.float32)
            logp_buf = tf.where(at, (lp * af)[:, None], logp_buf)
            ent_buf = tf.where(at, (ent * af)[:, None], ent_buf)
            active_buf = tf.where(at, af[:, None], active_buf)
            stopped = tf.reduce_any(tf.equal(token[:, None], stop_ids[None, :]), axis=1)
            done = tf.logical_or(done, tf.logical_and(active, stopped))
            done = tf.logical_or(done, gen_pos >= t - 1)
            return index + 1, buf, cache, logp_buf, ent_buf, active_buf, done

        def cond(index, buf, cache, logp_buf, ent_buf, active_buf, done):
            return tf.logical_and(index < end, ~tf.reduce_all(done))

        _, buf, _, logp_buf, ent_buf, active_buf, _ = tf.while_loop(
            cond, body, (start, buf, cache, zeros, zeros, zeros, done), maximum_iterations=total)
        at = length[:, None] + tf.range(t)[None, :]
        at = tf.minimum(at, total - 1)
        mask = tf.gather(active_buf, at, batch_dims=1)
        tokens = tf.where(mask > 0, tf.gather(buf, at, batch_dims=1), tf.constant(self.pad_id, tf.int32))
        return tokens, tf.gather(logp_buf, at, batch_dims=1), mask, tf.gather(ent_buf, at, batch_dims=1)

    def _action(self, time_step, policy_state, seed=None):
        obs = time_step.observation
        tokens, logp, mask, ent = self._sample_fn(tf.cast(obs["prompt"], tf.int32), tf.cast(obs["length"], tf.int32),
                                                  tf.constant(self.seed, tf.int32))
        return policy_step.PolicyStep(tokens, policy_state, {"log_probs": logp, "mask": mask, "entropy": ent})

    def _distribution(self, time_step, policy_state):
        raise NotImplementedError("a whole message is sampled token by token; use action()")

    # ----------------------------------------------------------------------------------------
    def encode_prompts(self, prompts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Right-padded prompt ids [B, P] (bos first, keep the end when too long) and lengths [B]."""
        tok = self.bundle.tokenizer
        rows = []
        for text in prompts:
            ids = [int(i) for i in np.asarray(tok(text)).tolist()]
            start = getattr(tok, "start_token_id", None)
            if self.bundle.family.startswith("gemma") and start is not None:
                ids = [int(start)] + ids
            elif start is not None and self.bundle.family == "gpt2":
                ids = [int(start)] + ids  # GPT-2's preprocessor prepends <|endoftext|> too
            rows.append(ids[-self.prompt_length:])
        out = np.full((len(rows), self.prompt_length), self.pad_id, np.int32)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return out, np.array([len(r) for r in rows], np.int32)

    def decode(self, tokens: np.ndarray, mask: np.ndarray) -> list[str]:
        """Response texts without the stop token."""
        stops = set(self.stop_token_ids)
        out = []
        for row, m in zip(np.asarray(tokens), np.asarray(mask)):
            ids = [int(x) for x, keep in zip(row, m) if keep > 0 and int(x) not in stops]
            text = self.bundle.tokenizer.detokenize(ids) if ids else ""
            text = text.numpy() if hasattr(text, "numpy") else text
            out.append(text.decode("utf-8", errors="replace") if isinstance(text, bytes) else str(text))
        return [s.strip() for s in out]
