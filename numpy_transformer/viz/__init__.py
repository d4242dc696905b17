"""Plots (matplotlib, written as PNG files): training curves, attention maps, sample grids."""
