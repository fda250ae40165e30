"""The one exception family for mistakes a user can make (config, data, model, checkpoint).

The CLI prints these as a single sentence and exits with status 2; anything else is a bug and
keeps its traceback.
"""


class UserError(ValueError):
    """A problem with the user's input; the message names the file, field or option."""
