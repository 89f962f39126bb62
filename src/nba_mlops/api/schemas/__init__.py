"""Request and response bodies of the API (the database models live in ``nba_mlops.db``)."""
