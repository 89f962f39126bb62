"""Scoring shots with the champion: in this process (``predictor``, ``microbatch``), over
HTTP (``remote``, a client of the API layer's ``nba_mlops.api.service_app``), or in bulk
(``batch``)."""
