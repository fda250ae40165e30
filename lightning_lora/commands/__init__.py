"""The command entry points, one module per command, each with ``main(argv) -> int`` (``argv`` starts with the
command's name). :mod:`lightning_lora.__main__` maps command names to these modules; nothing else imports them.
They parse a command line and call the libraries below them. ``model_options`` is no command: the options shared
by the commands that load a model.
"""
