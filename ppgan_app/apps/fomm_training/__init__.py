"""FOMM training applications: motion data sets from videos, held-out evaluation, export to the fast engine."""
