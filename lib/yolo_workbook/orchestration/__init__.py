"""Running rounds: one round in a papermill kernel, and the pipeline of rounds in order."""
