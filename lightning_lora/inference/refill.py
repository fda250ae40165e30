"""Batched generation that keeps the batch full: a finished row leaves at once and a waiting prompt takes its place.

``transformers``' ``generate`` runs a batch until its longest answer ends, so one answer that runs to the budget
holds every finished row of its batch (a HumanEval batch of 16 on the real Qwen2.5-Coder-0.5B took 213 s where
the others took about 40). Here the decode loop is ours, over the model's own forward and KV cache:

- prompts wait in a queue (longest first); up to ``batch_size`` rows decode together, each step one token per row;
- a row ends at an end-of-sequence token, a stop string, or its budget (``max_new_tokens``, or the model's context);
  it leaves the batch at once and the next prompts are prefilled and joined to the cache (left-padded to the
  batch's cache length, or the batch's cache left-padded to theirs);
- cache columns that no row attends any more (all padding) are dropped;
- greedy decoding drafts: each row proposes the tokens that followed the latest earlier occurrence of its last
  tokens in its prompt or answer (prompt lookup: code answers repeat their signature, docstring and names), and
  one pass checks every row's draft; a row keeps the drafted tokens the model itself would have chosen, plus the
  model's next token. A pass of 5 tokens per row costs far less than 5 passes of one (every pass reads all
  the weights), so kept drafts are cheap tokens; the pass runs ragged where the model allows (the rows' tokens
  packed into one sequence: a row with a short draft or none adds no padding to the linear layers' work);
- the cache grows in place (spare room after each layer's columns), not by copying it at every pass;
- ``n`` answers to one prompt (sampling for pass@k) share one prefill: its cache and first logits are kept until
  its last answer is admitted.

Greedy answers equal ``generate``'s up to floating-point summation order (a row's neighbours, padding and the
number of tokens in a pass differ). Sampling draws each answer from its own generator (the seed and the answer's
index), so it is reproducible from the seed whatever the batch size, but draws differently from ``generate``.
"""

from __future__ import annotations

import sys
from collections import Counter, deque
from typing import Any, Sequence

import torch
from tqdm import tqdm

from lightning_lora.inference.attention import RaggedCache, RaggedLayout, packed_attention, ragged, ragged_ready


class _Batch:
    """The rows decoding together: their cache, attention mask, next positions, last tokens and answers so far."""

    def __init__(self) -> None:
        self.cache: Any = None
        self.mask = torch.zeros(0, 0, dtype=torch.long)
        self.positions = torch.zeros(0, dtype=torch.long)
        self.last = torch.zeros(0, dtype=torch.long)
        self.jobs: list[int] = []
        self.tokens: list[list[int]] = []
        self.budgets: list[int] = []
        self.lookups: list[_Lookup] = []
        self.generators: list[torch.Generator] | None = None

    def __len__(self) -> int:
        return len(self.jobs)

    def keep(self, rows: list[int]) -> None:
        """Keep only ``rows`` (in this order), then drop cache columns no kept row attends."""
        index = torch.tensor(rows, dtype=torch.long)
        self.mask, self.positions, self.last = self.mask[index], self.positions[index], self.last[index]
        self.jobs = [self.jobs[i] for i in rows]
        self.tokens = [self.tokens[i] for i in rows]
        self.budgets = [self.budgets[i] for i in rows]
        self.lookups = [self.lookups[i] for i in rows]
        if self.generators is not None:
            self.generators = [self.generators[i] for i in rows]
        if not rows:
            self.cache, self.mask = None, torch.zeros(0, 0, dtype=torch.long)
            return
        used = self.mask.sum(dim=0).nonzero()
        start = int(used[0]) if len(used) else self.mask.shape[1]
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[index, :, start:], layer.values[index, :, start:]
        self.mask = self.mask[:, start:]

    def join(self, other: _Batch) -> None:
        """Add ``other``'s rows, left-padding whichever cache is shorter."""
        if not len(self):
            self.cache, self.mask, self.positions, self.last = other.cache, other.mask, other.positions, other.last
            self.jobs, self.tokens, self.budgets, self.lookups = other.jobs, other.tokens, other.budgets, other.lookups
            self.generators = other.generators
            return
        mine, theirs = self.mask.shape[1], other.mask.shape[1]
        width = max(mine, theirs)
        for a, b in zip(self.cache.layers, other.cache.layers):
            a.keys = torch.cat([_left_pad(a.keys, width), _left_pad(b.keys, width)])
            a.values = torch.cat([_left_pad(a.values, width), _left_pad(b.values, width)])
        self.mask = torch.cat([_left_pad(self.mask, width, dim=1), _left_pad(other.mask, width, dim=1)])
        self.positions = torch.cat([self.positions, other.positions])
        self.last = torch.cat([self.last, other.last])
        self.jobs += other.jobs
        self.tokens += other.tokens
        self.budgets += other.budgets
        self.lookups += other.lookups
        if self.generators is not None and other.generators is not None:
            self.generators += other.generators

    def compact(self) -> None:
        """Move each row's attended cache columns to the right end, dropping the holes rejected drafts left."""
        counts = self.mask.sum(dim=1)
        width = int(counts.max())
        if width == self.mask.shape[1]:
            return
        # per row: the attended columns in order, right-aligned; the left padding points at column 0, masked
        order = torch.sort(self.mask, dim=1, stable=True).indices[:, -width:]
        index = torch.where(torch.arange(width) >= width - counts[:, None], order, torch.zeros_like(order))
        rows = torch.arange(len(self))[:, None]
        for layer in self.cache.layers:
            where = index.to(layer.keys.device)
            layer.keys = layer.keys[rows, :, where].permute(0, 2, 1, 3).contiguous()
            layer.values = layer.values[rows, :, where].permute(0, 2, 1, 3).contiguous()
        self.mask = (torch.arange(width) >= width - counts[:, None]).long()


class _Lookup:
    """Prompt-lookup drafts for one row: the tokens that followed the latest earlier occurrence of its last
    ``ngram`` tokens in its prompt and answer so far (code answers copy their prompt's signature and docstring)."""

    def __init__(self, context: Sequence[int], ngram: int) -> None:
        self.context: list[int] = []
        self.ngram = ngram
        self.seen: dict[tuple[int, ...], int] = {}
        self.add(context)

    def add(self, tokens: Sequence[int]) -> None:
        """Append ``tokens``, remembering where each n-gram that ends before the last token was followed."""
        for token in tokens:
            self.context.append(token)
            end = len(self.context) - 1  # the n-gram ending just before the newest token is followed by it
            if end >= self.ngram:
                self.seen[tuple(self.context[end - self.ngram:end])] = end

    def draft(self, limit: int) -> list[int]:
        """Up to ``limit`` tokens that followed the last n-gram's latest earlier occurrence (none if it is new)."""
        if limit <= 0 or len(self.context) < self.ngram:
            return []
        start = self.seen.get(tuple(self.context[-self.ngram:]))
        return [] if start is None else self.context[start:start + limit]


class AnswerEnd:
    """Whether an answer being decoded has ended: its last token is an end-of-sequence id, it reached its budget,
    or one of ``stop`` appears in its last tokens decoded (a window long enough for the longest stop string)."""

    def __init__(self, tokenizer: Any, eos_ids: Sequence[int], stop: Sequence[str]) -> None:
        self.tokenizer, self.eos = tokenizer, set(eos_ids)
        self.stops = tuple(s for s in stop if s)
        self.tail = max((len(s) for s in self.stops), default=0) + 8  # tokens decoded to look for a stop string

    def __call__(self, tokens: Sequence[int], budget: int) -> bool:
        return (tokens[-1] in self.eos or len(tokens) >= budget
                or any(s in self.tokenizer.decode(tokens[-self.tail:], skip_special_tokens=True) for s in self.stops))


def _left_pad(x: torch.Tensor, width: int, dim: int = 2) -> torch.Tensor:
    """``x`` with zeros prepended along ``dim`` up to ``width``."""
    missing = width - x.shape[dim]
    if missing <= 0:
        return x
    shape = list(x.shape)
    shape[dim] = missing
    return torch.cat([x.new_zeros(shape), x], dim=dim)


def _cache_keyword(model: Any) -> str:
    """What the model's forward calls its KV cache: ``cache`` (recent transformers) or ``past_key_values``."""
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "cache" if "cache" in inspect.signature(base.forward).parameters else "past_key_values"


def _choose(logits: torch.Tensor, temperature: float, top_p: float,
            generators: Sequence[torch.Generator] | None) -> torch.Tensor:
    """The next token of each row: the most likely (temperature 0) or a draw from the nucleus with the row's own
    generator (so an answer's draws do not depend on which rows share its batch)."""
    if temperature <= 0 or generators is None:
        return logits.float().argmax(dim=-1)  # float: the same index, twice as fast as bfloat16's argmax on a CPU
    probs = torch.softmax(logits.float() / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        outside = sorted_probs.cumsum(dim=-1) - sorted_probs > top_p
        sorted_probs[outside] = 0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.cat([torch.multinomial(row, 1, generator=g) for row, g in zip(probs, generators)])


class _Prefilled:
    """One prompt's KV cache and next-token logits, kept while more answers to the same prompt wait (``n`` samples
    share one prefill)."""

    def __init__(self, layers: list[tuple[torch.Tensor, torch.Tensor]], logits: torch.Tensor) -> None:
        self.layers, self.logits = layers, logits


@torch.inference_mode()
def generate_refilled(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], *, max_new_tokens: int,
                      eos_ids: Sequence[int], stop: Sequence[str] = (), temperature: float = 0.0, top_p: float = 1.0,
                      seed: int = 0, batch_size: int = 16, context: int | None = None, draft_tokens: int = 0,
                      ngram: int = 2, pack_drafts: bool = True, progress: bool = False, desc: str = "generate",
                      stats: dict[str, int] | None = None) -> list[list[int]]:
    """The generated token ids of each tokenized prompt, in input order, up to and including the token that ended
    it: an end-of-sequence token, the one that completed a stop string, or the last the budget allows
    (``max_new_tokens``, or ``context`` minus the prompt). The model must be in eval mode; the caller restores
    anything else, and decodes, cuts at the stop strings and names the finish reason.

    ``draft_tokens > 0`` (greedy only) verifies up to that many drafted tokens per row in each forward pass: the
    tokens that followed the row's last ``ngram`` tokens earlier in its prompt or answer. The model keeps a draft's
    tokens up to the first it would not have chosen itself, then adds its own next token, so the answer is the one
    token-by-token decoding gives (up to floating-point summation order) in fewer passes over the weights.

    ``pack_drafts`` (where the model allows: :func:`~lightning_lora.inference.attention.ragged_ready`) runs a
    drafted pass ragged: the rows' tokens packed into one sequence, so a row with a short draft or none adds no
    padding to the linear layers' work.

    ``stats``, when given, is filled with counts: ``steps`` (decoding passes), ``draft_steps``, ``drafted`` and
    ``accepted`` (draft tokens verified and kept), ``prefilled`` (prompt tokens), ``compactions`` (cache rewrites
    that dropped the columns of rejected draft tokens), ``positions`` (token positions run through the model in
    decoding passes, padding included).
    """
    from transformers import DynamicCache

    device = next(model.parameters()).device
    cache_name = _cache_keyword(model)
    answer_end = AnswerEnd(tokenizer, eos_ids, stop)
    sampling = temperature > 0
    keys = [tuple(p) for p in prompts]
    waiting = Counter(keys)  # answers not yet admitted, per prompt
    kept: dict[tuple[int, ...], _Prefilled] = {}
    queue = deque(sorted(range(len(prompts)), key=lambda i: -len(prompts[i])))
    results: list[list[int] | None] = [None] * len(prompts)
    batch = _Batch()
    bar = tqdm(total=len(prompts), desc=desc, unit="answer", file=sys.stderr, disable=not progress)

    def prefill(jobs: list[int]) -> _Batch:
        """The rows of ``jobs``: prompts not prefilled yet run through the model together; a prompt with more
        answers waiting keeps its cache and logits for them."""
        fresh = list(dict.fromkeys(keys[j] for j in jobs if keys[j] not in kept))
        if fresh:
            width = max(len(k) for k in fresh)
            ids = torch.zeros((len(fresh), width), dtype=torch.long)
            mask = torch.zeros((len(fresh), width), dtype=torch.long)
            for row, k in enumerate(fresh):
                ids[row, width - len(k):] = torch.tensor(k, dtype=torch.long)
                mask[row, width - len(k):] = 1
            positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
            counts["prefilled"] += int(mask.sum())
            out = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                        use_cache=True, logits_to_keep=1, **{cache_name: DynamicCache()})
            layers = getattr(out, cache_name).layers
            for row, k in enumerate(fresh):
                kept[k] = _Prefilled([(layer.keys[row:row + 1, :, width - len(k):],
                                       layer.values[row:row + 1, :, width - len(k):]) for layer in layers],
                                     out.logits[row, -1])
        width = max(len(keys[j]) for j in jobs)
        cache = RaggedCache()
        for index in range(len(kept[keys[jobs[0]]].layers)):
            cache.update(torch.cat([_left_pad(kept[keys[j]].layers[index][0], width) for j in jobs]),
                         torch.cat([_left_pad(kept[keys[j]].layers[index][1], width) for j in jobs]), index)
        new = _Batch()
        new.cache = cache
        new.mask = torch.stack([_left_pad(torch.ones(len(keys[j]), dtype=torch.long), width, dim=0) for j in jobs])
        new.positions = torch.tensor([len(keys[j]) for j in jobs])
        new.generators = ([torch.Generator(device=device).manual_seed(hash((seed, j)) % 2**63) for j in jobs]
                          if sampling else None)
        new.last = _choose(torch.stack([kept[keys[j]].logits for j in jobs]), temperature, top_p, new.generators).cpu()
        new.jobs = list(jobs)
        new.tokens = [[int(t)] for t in new.last]
        budgets = [max_new_tokens if context is None else min(max_new_tokens, context - len(keys[j])) for j in jobs]
        new.budgets = [max(1, b) for b in budgets]
        # the n-gram index of a row's prompt and answer, only when it drafts (empty otherwise: nothing to look up)
        new.lookups = [_Lookup(list(keys[j]) + tokens if speculate else (), ngram) for j, tokens in zip(jobs, new.tokens)]
        for j in jobs:
            waiting[keys[j]] -= 1
            if not waiting[keys[j]]:
                del kept[keys[j]]
        return new

    def finished(row: int) -> bool:
        """The row's answer has ended: an end-of-sequence token, its budget, or a stop string in its last tokens."""
        return answer_end(batch.tokens[row], batch.budgets[row])

    def settle(rows: range) -> None:
        """Record which of ``rows`` have finished and drop them, then refill from the queue until the batch is full
        (a newly admitted row can be finished already: a one-token budget, or an end at its first token)."""
        while True:
            done = [row for row in rows if finished(row)]
            for row in done:
                results[batch.jobs[row]] = batch.tokens[row]
                bar.update()
            if done:
                batch.keep([row for row in range(len(batch)) if row not in done])
            if not queue or len(batch) >= batch_size:
                return
            jobs = [queue.popleft() for _ in range(min(batch_size - len(batch), len(queue)))]
            batch.join(prefill(jobs))
            rows = range(len(batch) - len(jobs), len(batch))

    speculate = draft_tokens > 0 and temperature <= 0
    counts = stats if stats is not None else {}
    counts.update(steps=0, draft_steps=0, drafted=0, accepted=0, prefilled=0, compactions=0, positions=0)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model

    def plain_step() -> None:
        """One token per row from the full model."""
        counts["steps"] += 1
        counts["positions"] += len(batch)
        batch.mask = torch.cat([batch.mask, torch.ones(len(batch), 1, dtype=torch.long)], dim=1)
        out = model(input_ids=batch.last[:, None].to(device), attention_mask=batch.mask.to(device),
                    position_ids=batch.positions[:, None].to(device), use_cache=True, **{cache_name: batch.cache})
        batch.cache = getattr(out, cache_name)
        batch.positions = batch.positions + 1
        batch.last = _choose(out.logits[:, -1], temperature, top_p, batch.generators).cpu()
        for row, token in enumerate(batch.last.tolist()):
            batch.tokens[row].append(token)
            if speculate:
                batch.lookups[row].add([token])

    def draft_step(drafts: list[list[int]]) -> None:
        """Each row's last token and its draft in one pass; a row keeps its draft up to the first token the model
        would not have chosen, plus the model's own next token. Rejected positions stay in the cache, masked."""
        width = 1 + max(len(d) for d in drafts)
        counts["steps"] += 1
        counts["draft_steps"] += 1
        counts["positions"] += sum(1 + len(d) for d in drafts) if ragged_pass else len(batch) * width
        counts["drafted"] += sum(map(len, drafts))
        batch.mask = torch.cat([batch.mask, torch.ones(len(batch), width, dtype=torch.long)], dim=1)
        if ragged_pass:
            # the rows' tokens packed into one sequence: the linear layers see no padding
            lengths = [1 + len(d) for d in drafts]
            ids = torch.tensor([[t for row, d in enumerate(drafts) for t in (int(batch.last[row]), *d)]])
            positions = torch.tensor([[int(batch.positions[row]) + c for row, n in enumerate(lengths)
                                       for c in range(n)]])
            with ragged(RaggedLayout(lengths, batch.mask.to(device))):
                out = base.base_model(input_ids=ids.to(device), position_ids=positions.to(device), use_cache=True,
                                      **{cache_name: batch.cache})
            hidden = out.last_hidden_state[0]
        else:
            ids = torch.zeros(len(batch), width, dtype=torch.long)
            ids[:, 0] = batch.last
            for row, d in enumerate(drafts):
                ids[row, 1:1 + len(d)] = torch.tensor(d, dtype=torch.long)
            positions = batch.positions[:, None] + torch.arange(width)
            out = base.base_model(input_ids=ids.to(device), attention_mask=batch.mask.to(device),
                                  position_ids=positions.to(device), use_cache=True, **{cache_name: batch.cache})
            # logits only where they are needed: each row's real positions
            rows = torch.tensor([row for row, d in enumerate(drafts) for _ in range(1 + len(d))])
            cols = torch.tensor([col for d in drafts for col in range(1 + len(d))])
            hidden = out.last_hidden_state[rows.to(device), cols.to(device)]
        batch.cache = getattr(out, cache_name)
        chosen = base.get_output_embeddings()(hidden)
        chosen = chosen.float().argmax(dim=-1).tolist()
        start = 0
        for row, d in enumerate(drafts):
            mine = chosen[start:start + 1 + len(d)]
            start += 1 + len(d)
            kept = 1
            while kept <= len(d) and d[kept - 1] == mine[kept - 1]:
                kept += 1
            new = mine[:kept]
            counts["accepted"] += kept - 1
            batch.mask[row, batch.mask.shape[1] - width + kept:] = 0
            batch.positions[row] += kept
            batch.last[row] = new[-1]
            for token in new:
                batch.tokens[row].append(token)
                if finished(row):
                    break
            batch.lookups[row].add(new)
        if batch.mask.shape[1] - int(batch.mask.sum(dim=1).max()) > 64:
            batch.compact()
            counts["compactions"] += 1

    with packed_attention(model):
        ragged_pass = pack_drafts and ragged_ready(model)
        try:
            settle(range(0))
            while len(batch):
                drafts = ([batch.lookups[row].draft(min(draft_tokens, batch.budgets[row] - len(batch.tokens[row]) - 1))
                           for row in range(len(batch))] if speculate else [])
                if any(drafts):
                    draft_step(drafts)
                else:
                    plain_step()
                settle(range(len(batch)))
        finally:
            bar.close()
    return [r or [] for r in results]
