"""JupyterLab and the notebooks: what the notebooks call (notebook), the widgets and the round editor."""
