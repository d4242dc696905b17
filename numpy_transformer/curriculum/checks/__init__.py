"""The checks of each week (`week_N.CHECKS`): which inputs, against what, and the hints."""
