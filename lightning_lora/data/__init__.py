"""LightningDataModules, one per dataset family (code, chat, classification, QA) on the shared pipeline in
``base``; ``sources`` (where rows come from), ``collate`` / ``packing`` / ``sampling`` (batches)."""
