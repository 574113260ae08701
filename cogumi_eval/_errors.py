"""The root of Cogumi's user-facing errors: the ``cogumi`` command prints these and exits 2."""


class CogumiError(Exception):
    """A failure caused by an input; the message names the input and the fix."""
