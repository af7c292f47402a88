"""A local emulator of the Outlit public API for tests, demos and benchmarks.

>>> import outlit_sandbox
>>> with outlit_sandbox.running(seed=7, customers=3) as sb:  # doctest: +SKIP
...     sb.base_url, sb.public_key
"""

from .server import Sandbox, running
from .state import SandboxConfig

__all__ = ["Sandbox", "SandboxConfig", "running"]
