"""A run folder's files: ``reading`` (finding, reading and checking checkpoints, loading their weights),
``run_folder`` (the one writer of scores, ``best``, ``best.json`` and keep-best-k deletions), ``summary`` (what
the checkpoints came to, read back), ``atomic_io`` (the Lightning CheckpointIO that writes checkpoints atomically:
the one Lightning import here).
"""
