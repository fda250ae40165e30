"""The Lightning top: ``cli`` (the LightningCLI subclass behind fit / validate / test / predict), ``restore``
(a checkpoint, a run folder, a config or an export becomes a ready model: the one path every command uses),
``config_upgrade`` (configs written by earlier versions), ``run_lock`` (one fit per run folder), ``strategies``.
"""
