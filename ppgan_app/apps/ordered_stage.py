"""Moved to :mod:`ppgan_app.utils.ordered_stage` (this path goes in the next release)."""
from ppgan_app._moved import alias_module

alias_module(__name__)
