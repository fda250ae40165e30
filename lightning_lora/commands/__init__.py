"""Command modules of ``python -m lightning_lora``: each has ``main(argv) -> int``."""
