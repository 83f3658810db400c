"""Training a round: start weights, checkpoints and re-run states, the train step, loggers, metrics records."""
