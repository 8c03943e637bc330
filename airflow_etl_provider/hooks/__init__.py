"""Connector hooks: one module per system, all on the contract in `base.py`."""
