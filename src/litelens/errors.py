"""The one error type users see for a bad model or a bad input."""


class ModelError(ValueError):
    """A malformed, unsupported or inconsistent model, or an input that does not fit it.

    The message names what is wrong: the op (index and type) and the tensor (index and name) where
    there is one, so a user can find it in a model viewer.
    """


class InputError(ModelError):
    """A run-time input that does not fit the model: wrong dtype, shape, or an out-of-range value."""
