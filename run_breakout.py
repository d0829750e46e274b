#!/usr/bin/env python3
"""Train A2C on Breakout with the settings that reproduce baselines' published curve; resumes from
models/BreakoutNoFrameskip-v4.save.

Other games and settings through flags (``--help``) and presets (``python -m a2c_tf1 presets``).
"""
import sys

from a2c_tf1.cli import main

if __name__ == "__main__":
    sys.exit(main())
