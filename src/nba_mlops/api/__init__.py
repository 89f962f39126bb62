"""The HTTP API: ``create_app(settings)`` builds it (see ``nba_mlops.api.app``)."""
