"""Prediction: a round's model over a video or images, streamed to detections JSON."""
