"""When monitoring says the champion needs retraining: drift or a drop in live accuracy.

Computed from the same :class:`~nba_mlops.monitoring.build.MonitoringSnapshot` as the
monitoring report, with the thresholds of :class:`OrchestrationSettings`. A signal names
the champion and the data version it was seen on, so the sensor retrains once per
(champion, data) pair: retraining again on the same shots could not fix anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nba_mlops.config import Settings
from nba_mlops.data.store import ShotStore
from nba_mlops.monitoring.build import MonitoringSnapshot, monitoring_snapshot
from nba_mlops.orchestration.settings import OrchestrationSettings


@dataclass(frozen=True)
class RetrainSignal:
    """What monitoring found, and whether it crosses a retraining threshold."""

    champion_version: int
    data_version: str
    max_psi: float
    drift_status: str
    recent_size: int
    live_accuracy: float | None
    holdout_accuracy: float | None
    verified: int
    reasons: tuple[str, ...] = field(default=())
    kinds: tuple[str, ...] = field(default=())

    @property
    def triggered(self) -> bool:
        return bool(self.reasons)

    @property
    def key(self) -> str:
        """Retrain at most once per champion and data version."""
        return f"champion-v{self.champion_version}-data-{self.data_version[:12]}"

    def message(self) -> str:
        if self.reasons:
            return f"retrain champion v{self.champion_version}: " + "; ".join(self.reasons)
        psi = "n/a" if math.isnan(self.max_psi) else f"{self.max_psi:.3f}"
        live = (
            f"live accuracy {self.live_accuracy:.3f} on {self.verified} verified"
            if self.live_accuracy is not None
            else f"{self.verified} verified predictions"
        )
        return (
            f"champion v{self.champion_version} is fine: drift {self.drift_status} "
            f"(max PSI {psi} over {self.recent_size} requests), {live}"
        )


def retrain_signal(
    settings: Settings,
    orchestration: OrchestrationSettings,
    snapshot: MonitoringSnapshot | None = None,
) -> RetrainSignal:
    """Compare the snapshot with the retraining thresholds (a minimum sample on each)."""
    snapshot = snapshot or monitoring_snapshot(
        settings, min_sample=orchestration.retrain_min_drift_sample
    )
    drift = snapshot.drift
    reasons: list[str] = []
    kinds: list[str] = []
    if drift.sufficient and drift.max_psi > orchestration.retrain_drift_psi:
        worst = max(
            (f for f in drift.features if not math.isnan(f.psi)), key=lambda f: f.psi
        ).feature
        reasons.append(
            f"feature drift: max PSI {drift.max_psi:.3f} ({worst}) > "
            f"{orchestration.retrain_drift_psi} over {drift.recent_size} requests"
        )
        kinds.append("drift")
    quality = snapshot.champion_quality
    holdout = snapshot.champion.holdout_accuracy
    verified = quality.count if quality is not None else 0
    live = quality.accuracy if quality is not None else None
    if (
        live is not None
        and holdout is not None
        and verified >= orchestration.retrain_min_verified
        and holdout - live > orchestration.retrain_accuracy_drop
    ):
        reasons.append(
            f"live accuracy {live:.3f} on {verified} verified predictions is "
            f"{holdout - live:.3f} below the holdout's {holdout:.3f} "
            f"(allowed drop {orchestration.retrain_accuracy_drop})"
        )
        kinds.append("accuracy")
    return RetrainSignal(
        champion_version=snapshot.champion.version,
        data_version=ShotStore(settings).data_version().hash,
        max_psi=drift.max_psi,
        drift_status=drift.status,
        recent_size=drift.recent_size,
        live_accuracy=live,
        holdout_accuracy=holdout,
        verified=verified,
        reasons=tuple(reasons),
        kinds=tuple(kinds),
    )
