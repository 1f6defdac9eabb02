"""The TF-Agents pieces on a tiny Gemma 3: policy log-probs, one agent step, learning, KL restraint."""
import numpy as np
import tensorflow as tf
from tf_agents.replay_buffers import tf_uniform_replay_buffer

from tests.rl.conftest import PROMPTS
from tests.tolerances import PACKED
from trainer.models import causal_lm, lora
from trainer.rl import specs
from trainer.rl.agent import rloo_advantages
from trainer.rl.policy import full_sequences, token_log_probs


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


def test_one_agent_step_changes_only_lora_variables(fresh):
    policy = fresh.policy(max_new_tokens=8)
    agent = fresh.agent(policy, k=3, kl_coef=0.05, lr=1e-2)
    lora_ids = {id(v) for w in lora.lora_wrappers(fresh.bundle.backbone) for v in (w.lora_a, w.lora_b)}
    before = [(v, v.numpy().copy()) for v in fresh.bundle.backbone.weights]
    hist = _iterate(policy, agent, lambda tok, m: np.arange(len(tok)) % 3, k=3, iterations=1)
    assert hist[0]["grad_norm"] > 0
    changed_lora = 0
    for v, old in before:
        if id(v) in lora_ids:
            changed_lora += not np.array_equal(v.numpy(), old)
        else:  # untouched variables are bit-identical by construction
            np.testing.assert_array_equal(v.numpy(), old, err_msg=v.path)
    assert changed_lora == len(lora_ids)
    assert int(agent.train_step_counter.numpy()) == 1


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
    hist = _iterate(policy, agent, lambda tok, m: ((tok == target) * m).sum(1) / np.maximum(m.sum(1), 1), 4, 6)
    p1 = _mean_prob(fresh, ids, lens, toks, mask, target)
    assert p1 > 1.15 * p0, (p0, p1)
    assert np.mean([h["task_reward"] for h in hist[-3:]]) > hist[0]["task_reward"], hist


def test_length_only_reward_is_held_back_by_the_kl_term(fresh):
    """A reward that pays for length alone (reward hacking) drifts far from SFT without KL; with it, little."""
    probe = fresh.policy(max_new_tokens=10)
    ids, lens = probe.encode_prompts([p for p in PROMPTS for _ in range(4)])
    probe.set_seed(7, 0)
    step = probe.action(specs.first_steps(ids, lens))
    toks, mask = step.action.numpy(), step.info["mask"].numpy()
    freq = np.bincount(toks[mask > 0], minlength=1024) / mask.sum()
    stop = int(np.argmin(np.abs(freq - 0.2)))  # a "stop token" sampled about 1 step in 5: lengths vary
    policy = fresh.policy(max_new_tokens=10, stop_token_ids=(stop,))
    length_reward = lambda tok, m: m.sum(1) / m.shape[1]
    runs = {}
    for kl_coef in (0.0, 1.0):
        fresh.reset()
        agent = fresh.agent(policy, k=4, kl_coef=kl_coef, lr=2e-2)
        runs[kl_coef] = _iterate(policy, agent, length_reward, 4, 8)
    free, held = runs[0.0], runs[1.0]
    kl_free = np.mean([h["kl"] for h in free[-3:]])
    kl_held = np.mean([h["kl"] for h in held[-3:]])
    gain_free = np.mean([h["task_reward"] for h in free[-3:]]) - free[0]["task_reward"]
    gain_held = np.mean([h["task_reward"] for h in held[-3:]]) - held[0]["task_reward"]
    assert gain_free > 0.1, free  # the hack works without the KL term...
    assert kl_held < 0.5 * kl_free, (kl_held, kl_free)  # ...and the KL term holds the policy near SFT
    assert gain_held < gain_free
