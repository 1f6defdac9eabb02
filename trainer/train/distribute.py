"""Picks the tf.distribute strategy and says who writes.

    train.tpu="local" | "<name or grpc://address>"  TPUStrategy (a TPU VM, or a TPU node)
    train.devices="one"                               the default strategy: one device
    train.devices="mirrored"                          MirroredStrategy over every local GPU (or CPU)
    train.devices="multiworker"                       MultiWorkerMirroredStrategy over a cluster
    train.devices="auto"                              Mirrored on >1 local GPU, else one device

Multi-worker: every worker runs the same command; the cluster comes from `train.cluster`:
  "tf_config"  the TF_CONFIG environment variable, written by hand or injected by a launcher
               (Kubeflow's TFJob operator on GKE/Kubernetes injects it into every pod, with a
               `chief` task or with worker 0 as chief);
  "slurm"      the Slurm job step (SLURM_PROCID, SLURM_STEP_NODELIST, SLURM_STEP_TASKS_PER_NODE,
               SLURM_STEP_NUM_TASKS) laid out as tf.distribute's SlurmClusterResolver does, one
               worker per task, ports from `train.cluster_port` (see slurm_cluster);
  "auto"       TF_CONFIG when set, else Slurm when run inside `srun`.
The strategy must exist before TensorFlow runs its first op (collectives are configured at program
start), so sft.run creates it first. Collectives use RING over gRPC on CPUs and NCCL on GPUs.

Only the chief writes the workdir (checkpoints, adapter, metrics, TensorBoard); the other workers
write the same files into a temporary directory that is removed when they finish, as TF's
multi-worker guide does. Every worker reads the chief's checkpoints to resume, so the workdir must
be a path all workers see (NFS, a GKE PersistentVolume, a gcsfuse mount); a job whose worker died
is restarted as a whole (Slurm --requeue, a TFJob restartPolicy) and resumes from the last one.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from typing import Iterator

import tensorflow as tf
from absl import logging

CLUSTERS = ("auto", "tf_config", "slurm")


def set_threads(threads: int) -> None:
    """Intra- and inter-op thread pools of this process (0 = TensorFlow's default, all cores).

    Only takes effect before TensorFlow's first op; later (a second in-process sweep trial) the
    pools stay as they are, with a warning when they differ.
    """
    if not threads:
        return
    cfg = tf.config.threading
    if cfg.get_intra_op_parallelism_threads() == threads and cfg.get_inter_op_parallelism_threads() == threads:
        return
    try:
        cfg.set_intra_op_parallelism_threads(threads)
        cfg.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        logging.warning("train.threads=%d ignored: TensorFlow already started with its own thread pools", threads)


def parse_tf_config(text: str) -> tuple[dict[str, list[str]], str, int]:
    """TF_CONFIG JSON -> (cluster, task type, task index), with the mistakes users make named."""
    try:
        conf = json.loads(text)
    except ValueError as e:
        raise ValueError(f"TF_CONFIG is not JSON ({e}): {text[:200]!r}") from None
    cluster, task = conf.get("cluster"), conf.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError('TF_CONFIG has no "cluster": {"worker": ["host:port", ...]}')
    if not isinstance(task, dict) or "type" not in task:
        raise ValueError('TF_CONFIG has no "task": {"type": "worker", "index": N}')
    task_type, index = task["type"], int(task.get("index", 0))
    if task_type not in cluster or not 0 <= index < len(cluster[task_type]):
        raise ValueError(f"TF_CONFIG task {task_type}:{index} is not in its cluster {sorted(cluster)}")
    if not set(cluster) & {"chief", "worker"}:
        raise ValueError("TF_CONFIG cluster has neither chief nor worker tasks")
    return {k: list(v) for k, v in cluster.items()}, task_type, index


def _slurm_in_job(env) -> bool:
    return "SLURM_PROCID" in env and "SLURM_STEP_NODELIST" in env


def cluster_resolver(kind: str = "auto", port_base: int = 8888):
    """The cluster of this multi-worker run (see the module docstring for `kind`)."""
    env = os.environ
    if kind not in CLUSTERS:
        raise ValueError(f"train.cluster must be one of {', '.join(CLUSTERS)}, got {kind!r}")
    if kind == "auto":
        if env.get("TF_CONFIG"):
            kind = "tf_config"
        elif _slurm_in_job(env):
            kind = "slurm"
        else:
            raise ValueError("train.devices=multiworker needs a cluster: set TF_CONFIG on every worker, or start the "
                             "workers with srun inside a Slurm allocation (see README, Scaling out)")
    if kind == "tf_config":
        if not env.get("TF_CONFIG"):
            raise ValueError("train.cluster=tf_config but TF_CONFIG is not set")
        cluster, task_type, index = parse_tf_config(env["TF_CONFIG"])
        rpc = json.loads(env["TF_CONFIG"]).get("rpc_layer", "grpc")
        return tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster), task_type=task_type, task_id=index, rpc_layer=rpc)
    if not _slurm_in_job(env):
        raise ValueError("train.cluster=slurm outside a Slurm job step: start each worker with srun")
    cluster, rank = slurm_cluster(env, port_base)
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster), task_type="worker", task_id=rank, rpc_layer="grpc")


def slurm_cluster(env, port_base: int = 8888) -> tuple[dict[str, list[str]], int]:
    """({"worker": [host:port, ...]}, this task's rank) of a Slurm job step, one worker per task.

    The same layout as tf.distribute's SlurmClusterResolver (hosts sorted, ranks in block order,
    port_base + the task's index on its node), without its GPU bookkeeping, which yields no task
    at all on CPU nodes; give GPUs with `srun --gpus-per-task=N` (Slurm sets CUDA_VISIBLE_DEVICES).
    """
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import (
        expand_hostlist, expand_tasks_per_node)

    hosts = expand_hostlist(env["SLURM_STEP_NODELIST"])
    per_node = expand_tasks_per_node(env.get("SLURM_STEP_TASKS_PER_NODE") or str(len(hosts) and 1))
    if len(per_node) != len(hosts):
        raise ValueError(f"SLURM_STEP_TASKS_PER_NODE={env.get('SLURM_STEP_TASKS_PER_NODE')!r} does not match "
                         f"SLURM_STEP_NODELIST={env['SLURM_STEP_NODELIST']!r}")
    workers = [f"{host}:{port_base + i}" for host, n in sorted(zip(hosts, per_node)) for i in range(n)]
    rank = int(env["SLURM_PROCID"])
    total = int(env.get("SLURM_STEP_NUM_TASKS") or len(workers))
    if total != len(workers) or not 0 <= rank < total:
        raise ValueError(f"Slurm step of {total} tasks but {len(workers)} placed on {hosts}; rank {rank}")
    return {"worker": workers}, rank


def local_worker_hosts(n: int) -> list[str]:
    """n free "127.0.0.1:port" addresses: a one-machine cluster for drills and benchmarks.

    The ports are free when asked for, not reserved: a worker binds them a moment later.
    """
    import socket

    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{s.getsockname()[1]}" for s in socks]
    finally:
        for s in socks:
            s.close()


def is_chief_task(cluster: dict, task_type: str | None, task_id: int | None) -> bool:
    """The chief: the `chief` task, or worker 0 of a cluster without one (or no cluster at all)."""
    if task_type is None:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    return is_chief_task(resolver.cluster_spec().as_dict(), resolver.task_type, resolver.task_id)


def num_workers(strategy: tf.distribute.Strategy) -> int:
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return int(strategy.extended._num_workers)  # noqa: SLF001 (no public accessor)
    return 1


def sum_over_workers(strategy: tf.distribute.Strategy, value: float) -> float:
    """`value` (this worker's share) summed over every worker; a collective, so all must call it."""
    if num_workers(strategy) == 1:
        return float(value)
    return float(strategy.reduce("SUM", tf.constant(value, tf.float32), axis=None))


def check_same_on_workers(strategy: tf.distribute.Strategy, value: int, what: str) -> None:
    """Raises unless every worker holds the same integer (e.g. the step it resumes at)."""
    if num_workers(strategy) == 1:
        return
    # Only SUM and MEAN reduce across workers: equal values <=> sum(v)^2 == n * sum(v^2).
    n = num_workers(strategy)
    total, squares = strategy.reduce("SUM", tf.constant([value, value * value], tf.float64), axis=None).numpy()
    if abs(total * total - n * squares) > 0.5 or abs(total - n * value) > 0.5:
        raise RuntimeError(f"workers disagree on {what} (this worker: {value}, mean over {n} workers: {total / n:g}); "
                           "is the workdir shared by every worker (same checkpoints)?")


@contextlib.contextmanager
def output_dir(strategy: tf.distribute.Strategy, workdir: str) -> Iterator[str]:
    """The workdir for the chief; for other workers a temporary directory, removed afterwards."""
    if is_chief(strategy):
        yield workdir
        return
    tmp = tempfile.mkdtemp(prefix=f"carelora-worker{strategy.cluster_resolver.task_id}-")
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_strategy(tpu: str = "", devices: str = "auto", cluster: str = "auto", cluster_port: int = 8888,
                  threads: int = 0) -> tf.distribute.Strategy:
    set_threads(threads)
    if tpu:
        # "local": the TPU chips of this TPU VM; else a TPU name or grpc:// address of a TPU node.
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        if tpu != "local":
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy: tf.distribute.Strategy = tf.distribute.TPUStrategy(resolver)
    elif devices == "multiworker":
        resolver = cluster_resolver(cluster, cluster_port)
        # NCCL needs GPUs; RING (gRPC between hosts) runs anywhere. Listing physical devices
        # does not start TensorFlow's runtime, so the collectives can still be configured.
        gpus = tf.config.list_physical_devices("GPU")
        impl = (tf.distribute.experimental.CommunicationImplementation.AUTO if gpus
                else tf.distribute.experimental.CommunicationImplementation.RING)
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver,
            communication_options=tf.distribute.experimental.CommunicationOptions(implementation=impl))
        logging.info("multi-worker: task %s:%s of %s (%s)%s", resolver.task_type, resolver.task_id,
                     resolver.cluster_spec().as_dict(), impl.name, " chief" if is_chief(strategy) else "")
    elif devices == "one":
        strategy = tf.distribute.get_strategy()
    elif devices == "mirrored":
        # Every local accelerator, or every logical CPU when there is none (used by tests).
        local = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([d.name for d in local])
    elif devices != "auto":
        raise ValueError(f"train.devices must be auto, one, mirrored or multiworker, got {devices!r}")
    else:
        gpus = tf.config.list_logical_devices("GPU")
        strategy = tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    logging.info("strategy %s with %d replica(s)", type(strategy).__name__, strategy.num_replicas_in_sync)
    return strategy
