"""Errors the applications raise for bad user input (the CLI turns them into exit code 2)."""


class InputError(ValueError):
    """A user-facing problem with the inputs or options: missing file, no face, unwritable folder...

    The message is one line that says what is wrong and, where possible, what to do.
    """
