import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Two OpenBLAS threads spin against each other on a busy 2-core machine (the orthogonal init's SVD
# then takes seconds); the CLI subprocesses inherit this too.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
