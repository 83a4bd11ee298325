"""Multi-worker training set-up: the cluster from $TF_CONFIG or Slurm, bounded waits for peers, and a lost
peer named in the error."""

import contextlib
import json
import os
import re
import socket
import sys
import time

import tensorflow as tf
# Private TensorFlow modules, for what tf.distribute does not expose: the coordination service's timeouts.
from tensorflow.compiler.xla.tsl.protobuf import coordination_config_pb2
from tensorflow.python.distribute import multi_worker_util
from tensorflow.python.eager import context

from encoders_tf.distribute.strategies import DistributeError
from encoders_tf.errors import RunFailure

PEER_TIMEOUT = 60  # seconds a worker waits for all its peers to start; $ENCODERS_TF_PEER_TIMEOUT overrides
HEARTBEAT_TIMEOUT = 10  # seconds of silence after which a running peer counts as lost


class PeerLostError(RunFailure):
    """A multi-worker run lost a peer while training: names the peer; restart every worker to resume."""


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


def local_cluster(num_workers, host="127.0.0.1"):
    """$TF_CONFIG values (JSON strings) for `num_workers` worker processes on this machine, one a worker.

    The ports are free ones the system picks (bound to port 0, then released): another program could take
    one before the workers start, which then fail to start with a clear error.

    Example:
    >>> configs = local_cluster(2)
    >>> json.loads(configs[1])
    {'cluster': {'worker': ['127.0.0.1:...', '127.0.0.1:...']}, 'task': {'type': 'worker', 'index': 1}}
    """
    if not isinstance(num_workers, int) or num_workers < 1:
        raise DistributeError(f"a cluster needs a positive number of workers, got {num_workers!r}")
    sockets = []
    try:
        for _ in range(num_workers):
            sockets.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sockets[-1].bind((host, 0))
        workers = [f"{host}:{s.getsockname()[1]}" for s in sockets]
    finally:
        for s in sockets:
            s.close()
    return [json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
            for index in range(num_workers)]


def _peer_timeout(seconds):
    """`seconds`, else $ENCODERS_TF_PEER_TIMEOUT, else PEER_TIMEOUT; DistributeError when not positive."""
    if seconds is None:
        seconds = os.environ.get("ENCODERS_TF_PEER_TIMEOUT") or PEER_TIMEOUT
    try:
        value = float(seconds)
    except ValueError:
        value = None
    if value is None or not value > 0:
        raise DistributeError(f"the peer timeout must be a positive number of seconds, got {seconds!r} "
                              f"(e.g. ENCODERS_TF_PEER_TIMEOUT=120)")
    return value


def _bound_waits_for_peers(cluster_spec, peer_timeout):
    """Configures TensorFlow's coordination service (before MultiWorkerMirroredStrategy does) so that no wait
    for a peer is unbounded.

    MultiWorkerMirroredStrategy's own configuration waits for peers to start without limit (worker 0 sits in
    context initialization for as long as a peer is missing). Here every worker registers through a barrier
    that gives up after `peer_timeout` seconds, naming the workers that never came; once running, a worker
    silent for HEARTBEAT_TIMEOUT seconds is reported lost and every collective on the others is aborted
    (an UnavailableError in the step; see `explain_peer_failures`).
    """
    jobs = [coordination_config_pb2.CoordinatedJob(name=job, num_tasks=cluster_spec.num_tasks(job))
            for job in ("chief", "worker") if job in cluster_spec.jobs]
    context.context().configure_coordination_service(
        service_type="standalone", service_leader=multi_worker_util.coordination_leader(cluster_spec),
        coordinated_jobs=jobs, cluster_register_timeout_in_ms=int(peer_timeout * 1000),
        heartbeat_timeout_in_ms=HEARTBEAT_TIMEOUT * 1000)
    # Without the barrier, registration is bounded only on the workers that are not the leader.
    context.context().coordination_service.cluster_register_with_barrier = True


def multi_worker_strategy(cluster_resolver=None, peer_timeout=None):
    """MultiWorkerMirroredStrategy over the cluster of $TF_CONFIG (or Slurm's), with every wait for a peer
    bounded (see `strategy_from_flag`)."""
    peer_timeout = _peer_timeout(peer_timeout)
    if cluster_resolver == "slurm":
        try:
            resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
        except RuntimeError as error:  # not inside a Slurm job step
            raise DistributeError(f"--cluster-resolver slurm: {error} (run it with srun)") from None
    elif cluster_resolver in (None, "tf_config"):
        read_tf_config()
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    else:
        raise DistributeError(f"unknown cluster resolver {cluster_resolver!r}; accepted: tf_config, slurm")
    _bound_waits_for_peers(resolver.cluster_spec(), peer_timeout)
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    except RuntimeError as error:
        if "at program startup" not in str(error):
            raise
        raise DistributeError("the multi_worker strategy must be created before TensorFlow runs anything in "
                              "this process (create it first thing)") from None
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as error:
        peers = ", ".join(_peers_in(error.message, resolver))
        me = _address(resolver.cluster_spec(), resolver.task_type, resolver.task_id)
        raise DistributeError(f"{resolver.task_type} {resolver.task_id} ({me}) waited {peer_timeout:g} s for its "
                              f"peers; never reached: {peers} (start every worker with the same cluster; "
                              f"$ENCODERS_TF_PEER_TIMEOUT sets the wait)") from None


def _address(cluster_spec, job, index):
    try:
        return cluster_spec.task_address(job, int(index))
    except (KeyError, ValueError):
        return None


def _peers_in(message, resolver):
    """The peers a TensorFlow error message is about, as "worker 1 at host:port", this worker excluded.

    The coordination service names tasks (/job:worker/replica:0/task:1); gRPC names addresses; a failed
    heartbeat to the coordination service means its leader is gone. Without any of these: every peer.
    """
    spec = resolver.cluster_spec()
    me = (resolver.task_type, int(resolver.task_id))
    if "timed out task names:" in message:  # a registration barrier: the tasks that never came
        message = message.split("timed out task names:", 1)[1]
    tasks = [(job, int(index)) for job, index in re.findall(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)", message)]
    tasks += [(job, index) for job in spec.jobs for index, address in enumerate(spec.job_tasks(job))
              if address in message]
    if not tasks and "CoordinationService" in message:
        leader = re.match(r"/job:(\w+)/replica:0/task:(\d+)", multi_worker_util.coordination_leader(spec))
        tasks = [(leader.group(1), int(leader.group(2)))]
    if not [task for task in tasks if task != me]:
        tasks = [(job, index) for job in spec.jobs for index in range(spec.num_tasks(job))]
    named = []
    for job, index in tasks:
        peer = f"{job} {index} at {_address(spec, job, index)}"
        if (job, index) != me and peer not in named:
            named.append(peer)
    return named


@contextlib.contextmanager
def explain_peer_failures(strategy):
    """Turns what TensorFlow raises when a multi-worker run loses a peer into a PeerLostError naming it.

    Wrap the training (every step, backup and metric read that all workers take part in). Other
    strategies and other errors pass through unchanged.

    Example (in every worker; when worker 1 dies, the others raise `PeerLostError: lost worker 1 at
    10.0.0.2:2222 while training (it stopped sending heartbeats); start every worker again ...`)::

        with explain_peer_failures(strategy):
            fit(model, train, epochs=3, strategy=strategy)
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or resolver is None:
        yield
        return
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError, tf.errors.InternalError) as error:
        message = error.message
        if isinstance(error, tf.errors.InternalError) and "Collective ops is aborted" not in message:
            raise
        if "stopped sending heartbeats" in message:
            cause = "it stopped sending heartbeats"
        else:
            lines = [line.strip() for line in message.splitlines() if line.strip()]
            cause = next((line for line in lines if "aborted by:" in line), lines[0] if lines else "")
            cause = cause.split("aborted by:", 1)[-1].strip()
        raise PeerLostError(f"lost {', '.join(_peers_in(message, resolver))} while training ({cause[:200]}); "
                            f"start every worker again with the same command to resume from the last "
                            f"backup") from error


def leave_quietly(timeout=HEARTBEAT_TIMEOUT * 6):
    """Ends a multi-worker process that went well without error lines on any worker; call it last.

    TensorFlow's coordination service lives in the leader (worker 0). When the leader's process exits while
    another worker still runs, that worker's next heartbeat fails and TensorFlow logs
    `StartAbort UNAVAILABLE: Failed to send RPC to coordination service`, which reads as a failure. So the
    workers meet at a barrier, every other worker tells the leader it is leaving and exits at once (without
    interpreter teardown, so its heartbeat thread dies with it), and the leader returns only then.

    Returns at once in a process that is not a multi-worker one. Does not return on other workers than the
    leader: it exits them with code 0.

    Args:
        timeout: seconds to wait for the other workers (one that never comes is left behind).
    """
    ctx = context.context()
    config, server = ctx.coordination_service, ctx._collective_ops_server_def  # set by the strategy
    if config is None or server is None or not config.service_leader:
        return
    me = f"/job:{server.job_name}/replica:0/task:{server.task_index}"
    others = [f"/job:{job.name}/replica:0/task:{index}" for job in config.coordinated_job_list
              for index in range(job.num_tasks)]
    others.remove(config.service_leader)
    timeout_ms = int(timeout * 1000)
    ctx.wait_at_barrier("encoders_tf/finished", timeout_ms)
    if me != config.service_leader:
        ctx.set_config_key_value(f"encoders_tf/left{me}", "1")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    for task in others:
        try:
            ctx.get_config_key_value(f"encoders_tf/left{task}", timeout_ms)
        except tf.errors.OpError:
            pass  # it went away without saying so: nothing left to wait for
    time.sleep(0.5)  # their processes are ending: let them go before the service does
