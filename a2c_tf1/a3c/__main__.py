"""``python -m a2c_tf1.a3c``: see a2c_tf1/a3c/cli.py."""
import sys

from a2c_tf1.a3c.cli import main

sys.exit(main())
