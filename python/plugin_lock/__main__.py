"""The ``plugin-lock`` command, from the wheel: the same program as the Rust binary."""

import sys

from . import _native


def main() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    # Arguments stay what the OS gave (str with surrogate escapes, back to bytes in Rust).
    sys.exit(_native.run_cli(["plugin-lock", *sys.argv[1:]]))


if __name__ == "__main__":
    main()
