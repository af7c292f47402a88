"""The run's side of the client's ``deliver()``: each settled batch's outcomes become ledger rows.

``deliver()`` does the sending: batches, up to ``max_in_flight`` requests at once, retries of 429s, 5xx and
transport errors, and after a 400 that names some events (Outlit then stored nothing) the rest sent again
with the same uuids. It hands every batch it started, settled or failed, to :class:`BatchOutcomes` on the
run's own thread. An event neither delivered nor rejected (``not_sent``: its request failed for good) stays
out of the ledger, so the next run sends it again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outlit_core.client import DeliveryReport
from outlit_core.reverse_load.changes import LedgerWriter, RowEvents, field_path
from outlit_core.reverse_load.rows import row_as_json
from outlit_core.reverse_load.warehouse import DeadLetter, LedgerEntry

if TYPE_CHECKING:
    from outlit_core.reverse_load.runner import SyncResult


class BatchOutcomes:
    """``on_batch`` for one run: ledger entries and dead letters to the recorder, counts to the result."""

    def __init__(self, rows: RowEvents, recorder: LedgerWriter, result: SyncResult) -> None:
        self.rows = rows
        self.recorder = recorder
        self.result = result
        self.number = 0

    def __call__(self, part: DeliveryReport) -> None:
        local = part.requests == 0  # an event refused before sending (larger than a request may be)
        batch_id = f"{self.result.run_id}:{'local' if local else self.number}"
        self.number += 0 if local else 1
        entries: list[LedgerEntry] = []
        dead: list[DeadLetter] = []
        sent = rejected = 0
        for outcome in part.outcomes.values():
            if outcome.status == "not_sent":
                continue  # stays out of the ledger: the next run sends it again, same uuid
            mapped, row = self.rows.pending.pop(outcome.uuid)
            if outcome.status != "rejected":  # delivered, or a duplicate Outlit already had
                sent += 1
                entries.append(
                    LedgerEntry(mapped.key, mapped.content_hash, outcome.uuid, "delivered", batch_id)
                )
                continue
            rejected += 1
            reason = outcome.message or "rejected"
            if outcome.client_side:
                entries.append(LedgerEntry(mapped.key, mapped.content_hash, "", "rejected"))
                dead.append(DeadLetter(mapped.key, "local", reason, None, None, row_as_json(row)))
                continue
            entries.append(LedgerEntry(mapped.key, mapped.content_hash, outcome.uuid, "rejected", batch_id))
            path = field_path(outcome.path)
            dead.append(DeadLetter(mapped.key, "api", reason, path, outcome.uuid, row_as_json(row)))
        self.recorder.record(batch_id, entries, dead)
        result = self.result
        result.sent += sent
        result.rejected += rejected
        # ``batches`` counts the batches' sends (first and resends); ``retries`` every repeat of any kind.
        result.retries += part.retries + part.resends
        result.batches += part.requests - part.retries
