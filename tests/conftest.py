import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Two OpenBLAS threads spin against each other on a busy 2-core machine (the orthogonal init's SVD
# then takes seconds); the CLI subprocesses inherit this too.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


# The files that take minutes (pytest --durations=0), longest first. pytest.ini turns off xdist's own
# order (most tests first), which left a 3-minute A3C learning test for the end while the other worker
# idled; handing out the longest files first lets the two workers finish together.
LONGEST_FILES_FIRST = ("test_a3c_learning.py", "test_a3c_cluster.py", "test_cli.py", "test_a3c.py",
                       "test_recurrent.py", "test_envs.py", "test_plot_eval.py", "test_presets.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = os.path.basename(str(item.path))
        return LONGEST_FILES_FIRST.index(name) if name in LONGEST_FILES_FIRST else len(LONGEST_FILES_FIRST)

    items.sort(key=rank)  # stable: the tests of a file keep their order
