"""``python -m a2c_tf1``: the same command line as run_breakout.py."""
import sys

from a2c_tf1.cli import main

sys.exit(main(prog="python -m a2c_tf1"))
