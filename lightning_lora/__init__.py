"""lightning_lora: parameter-efficient fine-tuning with PyTorch Lightning."""

__version__ = "0.1.0"
