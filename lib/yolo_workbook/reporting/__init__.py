"""Reading the results: comparisons between rounds, plots, the journal page."""
