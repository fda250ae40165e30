"""LightningModules, one per task family (``causal_lm``, ``classifier``, ``qa``) on ``base``; ``precision``
(bf16 training helpers) and ``outputs`` (files a validate / test run leaves)."""
