"""The commands layer: one module per command (`ssd-rt` is run.py, `ssd-rt-NAME` is NAME.py).

The top of the import graph: commands may import the core library, `gui` and `trainer`; nothing
imports a command (tests/test_layers.py checks the arrows).
"""
