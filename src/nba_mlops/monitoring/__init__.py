"""Monitoring: live model quality, feature drift and the HTML monitoring report.

``quality`` and ``drift`` are pure computations the API's background refresher turns into
Prometheus gauges; ``report`` renders them into one self-contained HTML page. Submodules
are imported explicitly (``from nba_mlops.monitoring.drift import compute_drift``) so that
importing the package does not pull in matplotlib.
"""
