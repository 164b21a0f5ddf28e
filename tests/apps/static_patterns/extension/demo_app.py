"""The extension's demo app imported as a module (`__main__` block not run)."""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from dashext.main import app  # noqa: E402, F401
