"""The TF-Agents pieces on a tiny Gemma 3: policy log-probs, one agent step, KL at the start, learning,
KL restraint. The agent tests share one agent (conftest resets it) and one batch shape: 3 prompts x
k=4, 8 new tokens."""
import numpy as np
import tensorflow as tf
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from tests.rl.conftest import PROMPTS
from tests.rl.conftest import TinyRL
from tests.tolerances import PACKED, SAME_MATH
from trainer.models import causal_lm, lora
from trainer.rl import specs
from trainer.rl.agent import rloo_advantages
from trainer.rl.policy import full_sequences, token_log_probs


# Measured at these budgets: p(target) 0.197 -> 0.255 (margin 1.15x); length-only gain 0.22 free vs
# -0.04 held, KL 2.9 free vs 0.15 held. Halving them loses the margins, so these are the floor.
ITERS_TOKEN, ITERS_LENGTH = 4, 6


def _iterate(policy, agent, reward_of, k, iterations, prompts=PROMPTS, seed=0):
    """The stage's loop in miniature: sample -> reward -> replay buffer -> agent.train."""
    rows = [p for p in prompts for _ in range(k)]
    ids, lens = policy.encode_prompts(rows)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec, batch_size=len(rows), max_length=1)
    history = []
    for it in range(iterations):
        time_step = specs.first_steps(ids, lens)
        policy.set_seed(seed, it)
        step = policy.action(time_step)
        reward = np.asarray(reward_of(step.action.numpy(), step.info["mask"].numpy()), np.float32)
        buffer.add_batch(specs.one_step_trajectory(time_step, step, reward))
        info = agent.train(buffer.gather_all())
        buffer.clear()
        history.append(dict({k: float(v) for k, v in info.extra.items()}, task_reward=float(reward.mean())))
    return history


def test_rloo_baseline_is_leave_one_out():
    adv = rloo_advantages(tf.constant([1.0, 2.0, 3.0, 10.0, 10.0, 10.0]), 3).numpy()
    np.testing.assert_allclose(adv, [1 - 2.5, 2 - 2.0, 3 - 1.5, 0, 0, 0], rtol=1e-6)


def test_policy_log_probs_equal_the_lms_own_for_sampled_tokens(fresh):
    policy = fresh.policy(max_new_tokens=8, temperature=0.7)
    ids, lens = policy.encode_prompts(PROMPTS)
    assert len(set(lens.tolist())) > 1  # uneven prompts: right padding and per-row starts are exercised
    step = policy.action(specs.first_steps(ids, lens))
    tokens, mask, logp = step.action.numpy(), step.info["mask"].numpy(), step.info["log_probs"].numpy()
    assert mask[:, 0].all() and mask.sum() > len(PROMPTS)
    # The LM's own forward over the whole sequence (no cache), keras-hub's padding mask.
    seq, seg = full_sequences(tf.constant(ids), tf.constant(lens), tf.constant(tokens), tf.constant(mask))
    logits = causal_lm.full_logits(fresh.bundle, seq, seg).numpy() / 0.7
    logits = logits - logits.max(-1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = np.zeros_like(logp)
    for i in range(len(PROMPTS)):
        for t in range(tokens.shape[1]):
            if mask[i, t]:
                expected[i, t] = log_softmax[i, lens[i] - 1 + t, tokens[i, t]]
    np.testing.assert_allclose(logp, expected, **PACKED)
    # ... and the agent's teacher-forced path agrees too.
    again, entropy = token_log_probs(fresh.bundle, ids, lens, tokens, mask, 0.7)
    np.testing.assert_allclose(again.numpy(), expected, **PACKED)
    assert (entropy.numpy()[mask > 0] > 0).all()


def test_one_agent_step_starts_at_zero_kl_and_changes_only_lora_variables(fresh):
    policy = fresh.policy(max_new_tokens=8)
    agent = fresh.agent(policy, k=4, kl_coef=0.05, lr=1e-2)
    lora_ids = {id(v) for w in lora.lora_wrappers(fresh.bundle.backbone) for v in (w.lora_a, w.lora_b)}
    before = [(v, v.numpy().copy()) for v in fresh.bundle.backbone.weights]
    hist = _iterate(policy, agent, lambda tok, m: np.arange(len(tok)) % 3, k=4, iterations=1)
    # Iteration 1: the policy is the reference, and both sides of the KL come from one forward path.
    assert abs(hist[0]["kl"]) <= SAME_MATH["atol"], hist[0]
    assert hist[0]["grad_norm"] > 0
    changed_lora = 0
    for v, old in before:
        if id(v) in lora_ids:
            changed_lora += not np.array_equal(v.numpy(), old)
        else:  # untouched variables are bit-identical by construction
            np.testing.assert_array_equal(v.numpy(), old, err_msg=v.path)
    assert changed_lora == len(lora_ids)
    assert int(agent.train_step_counter.numpy()) == 1
    # After the step the policy has moved off the reference, and measuring the KL (the reference's
    # values swapped in and back) leaves the policy's values exactly as they were.
    rows = [p for p in PROMPTS for _ in range(4)]
    ids, lens = policy.encode_prompts(rows)
    step = policy.action(specs.first_steps(ids, lens))
    after = [v.numpy().copy() for v in fresh.lora_vars]
    kl, _ = agent.kl_per_sequence(ids, lens, step.action, step.info["mask"])
    assert np.abs(kl.numpy()).max() > 100 * SAME_MATH["atol"]
    for v, x in zip(fresh.lora_vars, after):
        np.testing.assert_array_equal(v.numpy(), x)


def test_kl_is_zero_while_the_policy_is_the_reference_in_bfloat16():
    """bf16 weights: the sampler's cached log-probs differ from a teacher-forced forward in the low
    bits, so the KL must compare two forwards of one path; then it is 0 up to float rounding."""
    tiny = TinyRL(dtype="bfloat16")
    assert tiny.bundle.backbone.compute_dtype == "bfloat16"
    policy = tiny.policy(max_new_tokens=8)
    agent = tiny.agent(policy, k=2)
    ids, lens = policy.encode_prompts([p for p in PROMPTS for _ in range(2)])
    # Any response will do (the identity holds token by token), so no sampler is compiled here.
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, 1024, (len(ids), 8)).astype(np.int32)
    mask = (np.arange(8)[None, :] < rng.integers(1, 9, (len(ids), 1))).astype(np.float32)
    kl, logp = agent.kl_per_sequence(ids, lens, tokens, mask)
    np.testing.assert_allclose(kl.numpy(), 0.0, rtol=0, atol=SAME_MATH["atol"])
    assert (logp.numpy()[mask > 0] < 0).all() and (logp.numpy()[mask == 0] == 0).all()


def _mean_prob(fresh, ids, lens, toks, mask, token):
    """Mean probability of `token` over the response positions of fixed sampled sequences (teacher forced)."""
    seq, seg = full_sequences(tf.constant(ids), tf.constant(lens), tf.constant(toks), tf.constant(mask))
    logits = causal_lm.full_logits(fresh.bundle, seq, seg).numpy()
    at = lens[:, None] - 1 + np.arange(toks.shape[1])[None]
    logits = np.take_along_axis(logits, at[..., None], 1)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return (p * mask[..., None]).sum((0, 1)) / mask.sum() if token is None else float(
        (p[..., token] * mask).sum() / mask.sum())


def test_reward_for_one_token_raises_its_probability(fresh):
    policy = fresh.policy(max_new_tokens=8)
    ids, lens = policy.encode_prompts([p for p in PROMPTS for _ in range(4)])
    policy.set_seed(99, 0)
    step = policy.action(specs.first_steps(ids, lens))
    toks, mask = step.action.numpy(), step.info["mask"].numpy()
    probs = _mean_prob(fresh, ids, lens, toks, mask, None)
    probs[list(policy.stop_token_ids)] = 0
    target = int(np.argsort(probs)[-2])  # likely enough to be sampled, not the most likely token
    p0 = _mean_prob(fresh, ids, lens, toks, mask, target)
    agent = fresh.agent(policy, k=4, kl_coef=0.05, lr=2e-2)
    hist = _iterate(policy, agent, lambda tok, m: ((tok == target) * m).sum(1) / np.maximum(m.sum(1), 1), 4, ITERS_TOKEN)
    p1 = _mean_prob(fresh, ids, lens, toks, mask, target)
    assert p1 > 1.15 * p0, (p0, p1)
    assert np.mean([h["task_reward"] for h in hist[-2:]]) > hist[0]["task_reward"], hist


def test_length_only_reward_is_held_back_by_the_kl_term(fresh):
    """A reward that pays for length alone (reward hacking) drifts far from SFT without KL; with it, little."""
    probe = fresh.policy(max_new_tokens=8)
    ids, lens = probe.encode_prompts([p for p in PROMPTS for _ in range(4)])
    probe.set_seed(7, 0)
    step = probe.action(specs.first_steps(ids, lens))
    toks, mask = step.action.numpy(), step.info["mask"].numpy()
    freq = np.bincount(toks[mask > 0], minlength=1024) / mask.sum()
    stop = int(np.argmin(np.abs(freq - 0.2)))  # a "stop token" sampled about 1 step in 5: lengths vary
    policy = fresh.policy(max_new_tokens=8, stop_token_ids=(stop,))
    length_reward = lambda tok, m: m.sum(1) / m.shape[1]
    runs = {}
    for kl_coef in (0.0, 1.0):
        fresh.reset()
        agent = fresh.agent(policy, k=4, kl_coef=kl_coef, lr=2e-2)
        runs[kl_coef] = _iterate(policy, agent, length_reward, 4, ITERS_LENGTH)
    free, held = runs[0.0], runs[1.0]
    kl_free = np.mean([h["kl"] for h in free[-2:]])
    kl_held = np.mean([h["kl"] for h in held[-2:]])
    gain_free = np.mean([h["task_reward"] for h in free[-2:]]) - free[0]["task_reward"]
    gain_held = np.mean([h["task_reward"] for h in held[-2:]]) - held[0]["task_reward"]
    assert gain_free > 0.1, free  # the hack works without the KL term...
    assert kl_held < 0.5 * kl_free, (kl_held, kl_free)  # ...and the KL term holds the policy near SFT
    assert gain_held < gain_free
