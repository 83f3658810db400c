"""Sweep rounds: a round whose ``sweep:`` section turns one training into trials, the best of which becomes
the round (:mod:`yolo_workbook.tuning.sweep`), trained one at a time here or as Ray Tune trials on a cluster
(:mod:`yolo_workbook.tuning.raybackend`); ``trials.json`` keeps every trial (:mod:`yolo_workbook.tuning.ledger`)."""
