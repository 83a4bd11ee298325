"""tf.distribute strategies from one flag: one device, several devices, several workers, TPU."""

import os

import tensorflow as tf

from encoders_tf.errors import InputError

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")


class DistributeError(InputError):
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


def _tpu_strategy(tpu):
    tpu = tpu or os.environ.get("TPU_NAME")
    if not tpu and not os.path.exists("/dev/accel0") and not os.path.exists("/dev/vfio/0"):
        raise DistributeError("--strategy tpu: no TPU here (no --tpu NAME, no $TPU_NAME, no local TPU device); "
                              "accepted: --tpu NAME of a Cloud TPU, or run on a TPU VM")
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "local")
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def strategy_from_flag(name="auto", devices=None, tpu=None, cluster_resolver=None, peer_timeout=None):
    """The tf.distribute strategy named by `--strategy`.

    Args:
        name: "auto" (mirrored over all GPUs when there are several, else one device), "default",
            "one_device", "mirrored", "multi_worker" (cluster from $TF_CONFIG, or `cluster_resolver="slurm"`),
            or "tpu".
        devices: device names for "mirrored" (default: all GPUs, else all logical CPUs); CPUs named beyond
            the first are made by splitting the CPU (`["/cpu:0", "/cpu:1"]`: two replicas on a CPU host).
        tpu: the TPU name for "tpu" (default $TPU_NAME).
        cluster_resolver: "tf_config" (default) or "slurm" for "multi_worker".
        peer_timeout: for "multi_worker", the seconds a worker waits for all its peers to start before it
            fails naming the missing ones (default $ENCODERS_TF_PEER_TIMEOUT, else PEER_TIMEOUT). A peer
            lost later is noticed after HEARTBEAT_TIMEOUT seconds (see `multi_worker`).

    Example:
    >>> from encoders_tf import EncoderConfig, build_encoder
    >>> strategy = strategy_from_flag("one_device")
    >>> with strategy.scope():  # build and compile models under the scope
    ...     encoder = build_encoder(EncoderConfig.preset("lstm", vocabulary_size=100))
    >>> strategy.num_replicas_in_sync
    1
    """
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r}; accepted: {', '.join(STRATEGIES)}")
    if name == "multi_worker":  # first: listing devices would start TensorFlow, too early for collectives
        from encoders_tf.distribute.multi_worker import multi_worker_strategy

        return multi_worker_strategy(cluster_resolver, peer_timeout)
    if name == "mirrored" and devices:
        _make_named_cpus(devices)  # before listing devices, which starts TensorFlow
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
        _check_devices_exist(devices)
        # Between CPU devices, the default collective all-reduce can pair up different gradients of the
        # two replicas (seen with Keras' LSTM: a shape-mismatch abort, or silently wrong sums); reducing on
        # one device is exact.
        return tf.distribute.MirroredStrategy(devices, cross_device_ops=tf.distribute.ReductionToOneDevice())
    return _tpu_strategy(tpu)


def _kind_and_index(device):
    """("CPU", 1) for "/cpu:1", "CPU:1" or "/device:CPU:1"; DistributeError for what is not a device name."""
    try:
        spec = tf.DeviceSpec.from_string(device)
    except ValueError:
        raise DistributeError(f"--devices: {device!r} is not a device name; accepted: names like /gpu:0 or "
                              f"/cpu:1, comma-separated") from None
    return (spec.device_type or "").upper(), spec.device_index or 0


def _make_named_cpus(devices):
    """Splits the CPU so that the CPU devices named exist: `--devices /cpu:0,/cpu:1` on a host without GPUs
    runs two replicas on two logical CPUs."""
    indices = [index for kind, index in map(_kind_and_index, devices) if kind == "CPU"]
    cpu = tf.config.list_physical_devices("CPU")[0]
    if indices and max(indices) + 1 > len(tf.config.get_logical_device_configuration(cpu) or [None]):
        split_cpu(max(indices) + 1)


def _check_devices_exist(devices):
    """DistributeError naming the devices in `devices` that this host does not have, and those it has."""
    here = {_kind_and_index(d.name): d.name for d in tf.config.list_logical_devices()}
    unknown = [name for name in devices if _kind_and_index(name) not in here]
    if unknown:
        raise DistributeError(f"--devices: no {', '.join(unknown)} on this host; accepted: "
                              f"{', '.join(here.values())}")


def per_replica_batch(global_batch, strategy):
    """The per-replica batch of a global batch; DistributeError when it does not divide evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch % replicas:
        raise DistributeError(f"the global batch {global_batch} does not divide over {replicas} replicas "
                              f"(accepted: a multiple of {replicas})")
    return global_batch // replicas


def is_chief(strategy):
    """True on the worker that writes checkpoints, exports and reports: worker 0, or the only one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (resolver.task_type == "worker" and resolver.task_id == 0
                                                     and "chief" not in resolver.cluster_spec().as_dict())
