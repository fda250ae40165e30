"""``python -m lightning_lora``."""

import sys

from lightning_lora.cli import main

if __name__ == "__main__":
    sys.exit(main())
