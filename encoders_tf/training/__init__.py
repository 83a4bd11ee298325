"""Training: the loop on strategy.run (callbacks, backups, exact resume), metrics, and the drivers behind
`encoders-tf train` and `encoders-tf pretrain`."""
