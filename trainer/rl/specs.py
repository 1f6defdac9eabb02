"""TF-Agents specs of message writing as a one-step episode (a contextual bandit over whole messages).

observation: {"prompt": int32 [P] (right-padded prompt ids), "length": int32 [] (real prompt tokens)}
action:      int32 [T] response token ids (stop token included, pad after it), bounded by the vocabulary
policy info: {"log_probs": float32 [T] (the sampled distribution's log-prob of each token, 0 on pad),
              "mask": float32 [T] (1 on response tokens), "entropy": float32 [T]}
reward:      float32 [] (the task reward; the agent subtracts the KL penalty itself)

Every episode is FIRST -> LAST: the reward arrives with the whole message.
"""
from __future__ import annotations

import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory


def observation_spec(prompt_length: int) -> dict:
    return {"prompt": tf.TensorSpec([prompt_length], tf.int32, "prompt"), "length": tf.TensorSpec([], tf.int32, "length")}


def action_spec(max_new_tokens: int, vocabulary_size: int) -> tensor_spec.BoundedTensorSpec:
    return tensor_spec.BoundedTensorSpec([max_new_tokens], tf.int32, 0, vocabulary_size - 1, "response")


def info_spec(max_new_tokens: int) -> dict:
    t = [max_new_tokens]
    return {"log_probs": tf.TensorSpec(t, tf.float32, "log_probs"), "mask": tf.TensorSpec(t, tf.float32, "mask"),
            "entropy": tf.TensorSpec(t, tf.float32, "entropy")}


def time_step_spec(prompt_length: int) -> ts.TimeStep:
    return ts.time_step_spec(observation_spec(prompt_length))


def first_steps(prompts, lengths) -> ts.TimeStep:
    """A batch of FIRST time steps for right-padded prompts [B, P] and their lengths [B]."""
    observation = {"prompt": tf.convert_to_tensor(prompts, tf.int32), "length": tf.convert_to_tensor(lengths, tf.int32)}
    return ts.restart(observation, batch_size=int(observation["prompt"].shape[0]))


def one_step_trajectory(time_step: ts.TimeStep, policy_step, reward) -> trajectory.Trajectory:
    """FIRST -> LAST trajectory of a batch (no time axis: a replay buffer's add_batch adds it)."""
    b = tf.shape(time_step.step_type)[0]
    return trajectory.Trajectory(
        step_type=time_step.step_type, observation=time_step.observation, action=policy_step.action,
        policy_info=policy_step.info, next_step_type=tf.fill([b], ts.StepType.LAST),
        reward=tf.convert_to_tensor(reward, tf.float32), discount=tf.zeros([b], tf.float32))
