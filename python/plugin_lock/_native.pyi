"""The native module: plain dicts and tuples; ``plugin_lock`` wraps them."""

from typing import Any, Dict, List, Optional, Tuple

__version__: str

def verify(root: str, lock: Optional[str] = None) -> Tuple[bool, Dict[str, Any]]: ...
def load_verified(
    root: str, plugin_id: str, lock: Optional[str] = None
) -> Tuple[bool, Dict[str, Any]]: ...
def run_cli(argv: List[str]) -> int: ...
