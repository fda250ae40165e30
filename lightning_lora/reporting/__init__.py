"""Results read back from a run's files, with no Lightning: ``base_vs_tuned`` (one evaluation against another),
``runs`` (training runs side by side, with plots), ``fit_summary`` (the lines a finished fit ends with).
"""
