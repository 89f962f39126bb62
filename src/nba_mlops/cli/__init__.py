"""The ``nba-mlops`` command line: thin commands over the pipeline stages."""

from nba_mlops.cli import data as _data  # noqa: F401  (each import registers commands)
from nba_mlops.cli import db as _db  # noqa: F401
from nba_mlops.cli import features as _features  # noqa: F401
from nba_mlops.cli import models as _models  # noqa: F401
from nba_mlops.cli import monitor as _monitor  # noqa: F401
from nba_mlops.cli import orchestrate as _orchestrate  # noqa: F401
from nba_mlops.cli import pipeline as _pipeline  # noqa: F401
from nba_mlops.cli import predict as _predict  # noqa: F401
from nba_mlops.cli import serve as _serve  # noqa: F401
from nba_mlops.cli import train as _train  # noqa: F401
from nba_mlops.cli import up as _up  # noqa: F401
from nba_mlops.cli import users as _users  # noqa: F401
from nba_mlops.cli.app import app

__all__ = ["app"]
