"""Attendance: counts a school can use, from tracked detections, and their score against ground truth."""
