"""Shared tiny model for the RL tests: a random-init Gemma 3 (1024-piece vocabulary, peaked next-token
distributions) with a non-zero "SFT" adapter, built once per module; each test restores the adapter."""
import numpy as np
import pytest

from trainer import config_lib
from trainer.models import lora

PROMPTS = ["Hello, your appointment is", "Please call the clinic about", "Your lab results are"]


class TinyRL:
    def __init__(self, source: str = "tiny_gemma", dtype: str | None = None):
        from trainer.train import sft

        self.cfg = config_lib.tiny_config(source, ("query", "value", "ffn_up"))
        self.bundle = sft.build_model(self.cfg, dtype)
        rng = np.random.default_rng(0)
        for w in lora.lora_wrappers(self.bundle.backbone):  # a non-zero adapter: the SFT reference
            w.lora_b.assign(rng.normal(0, 0.02, w.lora_b.shape).astype("float32"))
        self.lora_vars = list(self.bundle.backbone.trainable_variables)
        self.sft_values = [v.numpy() for v in self.lora_vars]
        self._policies, self._agents = {}, {}

    def reset(self):
        for v, x in zip(self.lora_vars, self.sft_values):
            v.assign(x)

    def policy(self, max_new_tokens=8, temperature=1.0, stop_token_ids=None, greedy=False):
        from trainer.rl.policy import LMPolicy

        key = (max_new_tokens, temperature, tuple(stop_token_ids or ()), greedy)
        if key not in self._policies:  # a policy compiles its sampler once; reuse it across tests
            self._policies[key] = LMPolicy(self.bundle, 16, max_new_tokens, temperature, stop_token_ids=stop_token_ids,
                                           greedy=greedy, jit_compile=False)
        return self._policies[key]

    def agent(self, policy, k=4, kl_coef=0.05, lr=1e-2):
        """An agent that starts fresh: SFT adapter (via reset), zeroed optimizer state, step 0.

        One agent per (temperature, k) is kept and reset, because tracing its forward and its
        gradient step costs more than a whole tiny run; the KL coefficient and the lr are not
        compiled in, and policies of the same max_new_tokens share the agent's shapes.
        """
        import keras

        from trainer.rl.agent import RLOOAgent

        key = (policy.temperature, policy.max_new_tokens, k)
        if key not in self._agents:
            agent = RLOOAgent(policy, keras.optimizers.Adam(lr), k, kl_coef, 1.0, self.sft_values, jit_compile=False)
            self._agents[key] = (agent, [v.numpy() for v in agent.optimizer.variables])
        agent, initial = self._agents[key]
        for v, x in zip(agent.optimizer.variables, initial):
            v.assign(x)
        agent.optimizer.learning_rate = lr
        agent.kl_coef = float(kl_coef)
        agent.train_step_counter.assign(0)
        return agent


@pytest.fixture(scope="module")
def tiny():
    t = TinyRL()
    yield t


@pytest.fixture
def fresh(tiny):
    tiny.reset()
    yield tiny
    tiny.reset()
