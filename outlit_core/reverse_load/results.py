"""What one reverse-load run reports: its counts (also written to ``_outlit_sync_runs``) and its error."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from outlit_core.client.exceptions import OutlitError


@dataclass
class SyncResult:
    """Counts for one run; also written to ``_outlit_sync_runs``."""

    run_id: str
    sync_name: str
    mode: str
    read: int = 0
    sent: int = 0
    unchanged: int = 0
    rejected: int = 0
    retries: int = 0
    batches: int = 0
    #: rows dead-lettered because their key occurs more than once in this run's rows (also in ``rejected``)
    duplicate_keys: int = 0
    status: str = "running"
    duration_s: float = 0.0
    error: str | None = None

    def counts(self) -> dict[str, int]:
        return {
            "read": self.read,
            "sent": self.sent,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "retries": self.retries,
            "batches": self.batches,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ReverseLoadError(OutlitError):
    """The run stopped early; ``result`` holds the counts up to that point (already in the run log)."""

    def __init__(self, message: str, result: SyncResult) -> None:
        super().__init__(message)
        self.result = result
