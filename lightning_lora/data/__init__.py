"""LightningDataModules, one per dataset family (code.py, and the shared pipeline in base.py)."""
