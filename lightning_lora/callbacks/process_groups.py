"""Process groups of our own, beside the strategy's (a leaf module: torch only, cheap to import in workers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import torch


def patient_group(timeout_s: float) -> Any:
    """A gloo process group over all ranks with its own timeout, for ranks that wait while rank zero
    works alone; None outside a multi-process run. Every rank must call it (it is a collective)."""
    dist = torch.distributed
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return dist.new_group(backend="gloo", timeout=timedelta(seconds=timeout_s))
