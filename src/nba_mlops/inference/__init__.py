"""Scoring shots with the champion: in this process (``predictor``, ``microbatch``), over
HTTP (``remote``), as a service of its own (``service_app``), or in bulk (``batch``)."""
