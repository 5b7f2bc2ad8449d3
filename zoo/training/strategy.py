"""tf.distribute strategies from one string.

- default:          tf.distribute.get_strategy() (one device)
- mirrored:         MirroredStrategy over the GPUs, or over `cpu_replicas` logical CPU devices when there
                    are none (how the distributed path is tested on a CPU machine)
- multi_worker:     MultiWorkerMirroredStrategy; the cluster comes from TF_CONFIG
- parameter_server: refused. Keras 3 does not support parameter-server training (keras-team/keras#18624),
                    and scripts/probe_parameter_server.py shows why it matters: under the strategy the
                    Keras optimizer's step counter lost 4 and 7 of 20 asynchronous updates in two runs (TF 2.21, Keras
                    3.15), and schedules and Adam read that counter
- tpu:              TPUStrategy; needs a TPU, which this project has not been able to test
"""

import json
import os

import tensorflow as tf

from zoo.errors import ConfigError, unknown_name

NAMES = ("default", "mirrored", "multi_worker", "parameter_server", "tpu")


def configure_cpu_devices(n: int):
    """Split the CPU into `n` logical devices. Must run before TensorFlow initialises its devices."""
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        if have != n:
            raise ConfigError(
                f"TensorFlow's devices were initialised before the CPU could be split into {n} logical devices "
                f"({have} now); create the strategy before running any TensorFlow op"
            ) from None


def get_strategy(name: str, *, cpu_replicas: int = 2) -> tf.distribute.Strategy:
    if name not in NAMES:
        raise unknown_name("strategy", name, NAMES)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        configure_cpu_devices(cpu_replicas)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")][:cpu_replicas]
        return tf.distribute.MirroredStrategy(devices=devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ConfigError("strategy 'multi_worker' needs the cluster in the TF_CONFIG environment variable")
        try:
            json.loads(os.environ["TF_CONFIG"])
        except json.JSONDecodeError as e:
            raise ConfigError(f"TF_CONFIG is not valid JSON: {e}") from e
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "parameter_server":
        raise ConfigError(
            "strategy 'parameter_server' is not available: Keras 3 does not support parameter-server training "
            "(keras-team/keras#18624); use 'multi_worker' for synchronous training across machines"
        )
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def is_chief(strategy) -> bool:
    """True on the worker that writes logs and checkpoints."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return True
    task_type, task_id = resolver.task_type, resolver.task_id
    return task_type is None or task_type == "chief" or (task_type == "worker" and task_id == 0)
