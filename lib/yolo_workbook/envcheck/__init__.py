"""The environment doctor: versions, device, OpenMP runtimes, base weights, fonts."""
