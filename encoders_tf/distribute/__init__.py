"""tf.distribute for every training command: strategies from one flag, and the multi-worker set-up."""

from encoders_tf.distribute.multi_worker import (HEARTBEAT_TIMEOUT, PEER_TIMEOUT, PeerLostError,
                                                 explain_peer_failures, leave_quietly, local_cluster,
                                                 multi_worker_strategy, read_tf_config)
from encoders_tf.distribute.strategies import (STRATEGIES, DistributeError, is_chief, per_replica_batch, split_cpu,
                                               strategy_from_flag)

__all__ = ["HEARTBEAT_TIMEOUT", "PEER_TIMEOUT", "STRATEGIES", "DistributeError", "PeerLostError",
           "explain_peer_failures", "is_chief", "leave_quietly", "local_cluster", "multi_worker_strategy", "per_replica_batch",
           "read_tf_config", "split_cpu", "strategy_from_flag"]
