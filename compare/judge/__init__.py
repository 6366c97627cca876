"""Judging arms: bootstrap intervals, paired tests, the verdict and the results it is written into."""
