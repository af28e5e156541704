"""The `dlinfer` console command of a wheel: runs the CLI binary bundled next to the package."""
import os
import sys


def main():
    binary = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin", "dlinfer")
    if not os.path.isfile(binary):
        sys.exit("dlinfer: this install of the Python package has no bundled CLI; install a wheel built with "
                 "`make wheel`, or the CLI itself with `make install`")
    if not os.access(binary, os.X_OK):
        os.chmod(binary, 0o755)
    os.execv(binary, [binary] + sys.argv[1:])
