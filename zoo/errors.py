"""Error types of the zoo.

Every error a user can cause derives from `ZooError`; the CLI prints these as one sentence
(the traceback only with `--debug`). Each subclass also derives from the built-in type a
Python user would catch for that situation (KeyError for an unknown name, ValueError for
bad input), so generic handlers keep working.
"""


class ZooError(Exception):
    """Base class of errors caused by the caller's input or environment.

    `cli`: the same message for the `zoo` command, where it names the command's flags (--overwrite,
    --weights PATH) instead of the Python keywords (overwrite=True, weights=PATH); the CLI prints it.
    """

    def __init__(self, *args, cli=None):
        super().__init__(*args)
        self.cli = cli


class UnknownNameError(ZooError, KeyError):
    """A model, recipe, dataset, strategy or weights name that is not registered."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(ZooError, ValueError):
    """A name registered twice."""


class ConfigError(ZooError, ValueError):
    """A recipe or override that does not validate (unknown key, wrong type or value)."""


class InputError(ZooError, ValueError):
    """An input of the wrong rank, channels, dtype or size for the model."""


class WeightsMismatchError(ZooError, ValueError):
    """A weights file that does not fit the architecture. Nothing was loaded."""


class WeightsFormatError(ZooError, ValueError):
    """A weights file that cannot be read (truncated, corrupt, unknown format)."""


class DatasetNotFoundError(ZooError, FileNotFoundError):
    """A dataset that is not on disk; the message says where to get it and where to put it."""


class CorruptRecordError(ZooError, ValueError):
    """An image or record that cannot be decoded; the message names it."""


class NaNLossError(ZooError, FloatingPointError):
    """Training produced a non-finite loss."""


class RunStorageError(ZooError, OSError):
    """A run directory that became full or unwritable during training; the message says what was kept."""


class WeightsNotFoundError(WeightsFormatError, FileNotFoundError):
    """A weights path that does not exist; the message names it."""


class ExportError(ZooError, RuntimeError):
    """An export that failed, needs Flex ops, or did not match the Keras model."""


def closest_names(name, candidates, n=3):
    """Registered names that look most like `name`, for 'did you mean' messages."""
    import difflib

    return difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)


def unknown_name(kind, name, candidates):
    """An UnknownNameError whose message suggests the closest registered names."""
    close = closest_names(name, candidates)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    listing = "" if close else f"; registered: {', '.join(sorted(candidates)[:20])}" + (
        " ..." if len(candidates) > 20 else ""
    )
    return UnknownNameError(f"unknown {kind} {name!r}{hint}{listing}")
