"""Datasets: YOLO label files and data.yaml, the data check, merges and oversampling, the demo data."""
