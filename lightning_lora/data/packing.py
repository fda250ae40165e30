"""Less padding in training batches: length-grouped batches, and several samples packed into one row.

Two independent tools for the training loader (options ``data.group_by_length`` and ``data.pack`` of
:class:`~lightning_lora.data.base.BaseDataModule`); both keep ``batch_size`` samples per step, so the
number of steps, the schedule and the token-weighted loss mean the same as without them.

- length grouping (:class:`~lightning_lora.data.sampling.TrainingBatchSampler` given the lengths)
  sorts each shuffled mega-batch by length and cuts it into batches: a batch holds samples of
  similar length, so padding to its longest costs little.
- :func:`~lightning_lora.data.collate.pack_batch` puts the samples of one batch into as few rows as fit its longest sample
  (first-fit decreasing). Each sample keeps its own positions (``position_ids`` restart at 0) and
  attends only to itself: transformers builds a block-diagonal causal mask from position ids that
  restart when no 2-D attention mask is given (SDPA and eager attention), and flash-attention uses
  its varlen kernel from the same position ids. The first label of every sample is -100, so no
  token is trained to predict the start of the next sample; a packed batch gives the same loss as
  the unpacked one. Not every model builds its mask from position ids: :func:`packing_leak`
  measures, on the model itself, whether a packed sample sees the one before it.
"""

from __future__ import annotations

import torch


def packing_leak(model: torch.nn.Module, vocab_size: int, lengths: tuple[int, int] = (7, 5)) -> float:
    """How much a sample's logits change when it is packed after another sample in one row.

    0 (up to rounding) when the model keeps attention within packed samples; a model whose mask
    ignores restarting ``position_ids`` (e.g. OPT and Bloom in transformers 5; Falcon keeps them apart), or a PEFT
    prompt-learning method that drops them, lets the second sample see the first. Runs in eval
    mode without gradients and draws from its own generator, not the global random stream.
    Returns the largest absolute logit difference divided by the largest logit magnitude.
    """
    generator = torch.Generator().manual_seed(0)
    first, second = (torch.randint(0, max(2, min(vocab_size, 1000)), (n,), generator=generator) for n in lengths)
    device = next(model.parameters()).device
    packed_ids = torch.cat([first, second])[None].to(device)
    packed_positions = torch.cat([torch.arange(lengths[0]), torch.arange(lengths[1])])[None].to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            packed = model(input_ids=packed_ids, position_ids=packed_positions, use_cache=False).logits
            alone = model(input_ids=second[None].to(device), position_ids=torch.arange(lengths[1])[None].to(device),
                          use_cache=False).logits
    finally:
        model.train(was_training)
    packed, alone = packed[0, -lengths[1]:].float(), alone[0, -lengths[1]:].float()
    return float((packed - alone).abs().max() / alone.abs().max().clamp(min=1e-6))
