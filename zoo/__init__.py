"""zoo: reference Keras 3 implementations of landmark vision and sequence papers.

    import zoo
    zoo.list_models("fcn*")
    model = zoo.get("fcn8s", num_classes=21)
    print(zoo.info("fcn8s"))
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the CLI

__version__ = "0.1.0"

from zoo.errors import ZooError  # noqa: E402
from zoo.registry import list_models  # noqa: E402

__all__ = ["get", "info", "list_models", "preprocessor", "ZooError", "__version__"]

_API = ("get", "info", "preprocessor")


def __getattr__(name):
    # zoo.api is imported on first use; get and preprocessor import Keras only when called, so that
    # listing and describing models, recipes and datasets never pays for Keras or TensorFlow.
    if name in _API:
        from zoo import api

        return getattr(api, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_API})
