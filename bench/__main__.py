"""Entry point: ``python -m bench``."""

import os
import sys

from bench import allocmeter
from bench.cli import main

if sys.argv[1:2] == ["run"] and allocmeter.active() is None:
    env = allocmeter.preload_env(dict(os.environ))
    if "LD_PRELOAD" in env and env != dict(os.environ):
        # Restart with the heap meter preloaded, so workers can be forked ready to run.
        os.execve(sys.executable, [sys.executable, "-m", "bench", *sys.argv[1:]], env)
sys.exit(main())
