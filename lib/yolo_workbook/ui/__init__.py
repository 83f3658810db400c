"""JupyterLab: the widgets and the round editor."""
