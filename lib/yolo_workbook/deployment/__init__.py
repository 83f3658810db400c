"""Deployment: export a round, prove the export detects the same, and measure its speed."""
