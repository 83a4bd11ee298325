"""tf.distribute strategies from one flag: one device, several devices, several workers, TPU."""

import json
import os

import tensorflow as tf

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")


class DistributeError(ValueError):
    """A strategy that cannot be set up from what was given: says what was wrong and what is accepted."""


def split_cpu(count):
    """Splits the CPU into `count` logical devices (before TensorFlow initializes its devices).

    Lets a mirrored run over several replicas happen on a CPU-only machine (tests, laptops).
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as error:  # devices already initialized
        raise DistributeError(f"cannot split the CPU into {count} devices after TensorFlow has started "
                              f"({error}); split it first thing in the process") from None


def read_tf_config(environ=None):
    """The parsed and checked $TF_CONFIG of a multi-worker job.

    Raises:
        DistributeError: TF_CONFIG missing, not JSON, without cluster.worker, or with a task index out of range.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG")
    if not text:
        raise DistributeError('multi_worker needs $TF_CONFIG, e.g. {"cluster": {"worker": ["host1:port", '
                              '"host2:port"]}, "task": {"type": "worker", "index": 0}}')
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({error.msg} at position {error.pos}): {text!r}") from None
    workers = config.get("cluster", {}).get("worker") if isinstance(config, dict) else None
    if not isinstance(workers, list) or not workers:
        raise DistributeError(f"TF_CONFIG has no cluster.worker list of host:port addresses: {text!r}")
    task = config.get("task", {})
    if task.get("type") not in ("worker", "chief"):
        raise DistributeError(f"TF_CONFIG task.type must be 'worker' or 'chief', got {task.get('type')!r}")
    index = task.get("index")
    if not isinstance(index, int) or not 0 <= index < len(workers):
        raise DistributeError(f"TF_CONFIG task.index {index!r} is out of range for {len(workers)} workers "
                              f"(accepted: 0..{len(workers) - 1})")
    return config


def _tpu_strategy(tpu):
    tpu = tpu or os.environ.get("TPU_NAME")
    if not tpu and not os.path.exists("/dev/accel0") and not os.path.exists("/dev/vfio/0"):
        raise DistributeError("--strategy tpu: no TPU here (no --tpu NAME, no $TPU_NAME, no local TPU device); "
                              "accepted: --tpu NAME of a Cloud TPU, or run on a TPU VM")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "local")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def strategy_from_flag(name="auto", devices=None, tpu=None, cluster_resolver=None):
    """The tf.distribute strategy named by `--strategy`.

    Args:
        name: "auto" (mirrored over all GPUs when there are several, else one device), "default",
            "one_device", "mirrored", "multi_worker" (cluster from $TF_CONFIG, or `cluster_resolver="slurm"`),
            or "tpu".
        devices: device names for "mirrored" (default: all GPUs, else all logical CPUs).
        tpu: the TPU name for "tpu" (default $TPU_NAME).
        cluster_resolver: "tf_config" (default) or "slurm" for "multi_worker".

    Example:
    >>> strategy = strategy_from_flag("mirrored")
    >>> with strategy.scope():
    ...     model = build_classifier(...)
    """
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r}; accepted: {', '.join(STRATEGIES)}")
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if name == "mirrored":
        if gpus and not devices:
            return tf.distribute.MirroredStrategy([d.name for d in gpus])
        devices = devices or [d.name for d in tf.config.list_logical_devices("CPU")]
        # Between CPU devices, the default collective all-reduce can pair up different gradients of the
        # two replicas (seen with Keras' LSTM: a shape-mismatch abort, or silently wrong sums); reducing on
        # one device is exact.
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "tpu":
        return _tpu_strategy(tpu)
    if cluster_resolver == "slurm":
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
    else:
        read_tf_config()
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


def per_replica_batch(global_batch, strategy):
    """The per-replica batch of a global batch; DistributeError when it does not divide evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise DistributeError(f"the global batch {global_batch} does not divide over {replicas} replicas "
                              f"(accepted: a multiple of {replicas})")
    return global_batch // replicas
