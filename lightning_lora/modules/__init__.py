"""LightningModules, one per task family (causal_lm.py; shared parts in base.py)."""
