"""Digests and their deliveries: exactly once.

A digest's finding range and every message it produces are recorded in one transaction (so a kill
never consumes a range whose messages were not queued); each delivery keeps its Message-ID, is
marked `sending` before it is handed to the server and `sent` right after, so a kill in between
resends the same message (same Message-ID: mail systems show it once) and nothing is lost.
"""
from __future__ import annotations

from records.model import DeliveryRecord, DeliveryStatus, DigestRange, OutgoingMessage, utcnow
from records.rows import insert, record, records


class MailingPart:
    def last_digest(self, kind: str) -> DigestRange | None:
        rows = list(self.db.query("SELECT kind, first_finding_id, last_finding_id FROM digests WHERE kind = ? "
                                  "ORDER BY id DESC LIMIT 1", [kind]))
        return record(DigestRange, rows[0]) if rows else None

    def queue_digest(self, covered: DigestRange, messages: list[OutgoingMessage], run_id: int | None) -> int:
        """Record that `covered` has been reported, with its messages queued; return the digest's id."""
        now = utcnow().isoformat()
        with self.transaction():
            digest_id = insert(self.db, "digests", {"kind": covered.kind, "created_at": now,
                                                   "first_finding_id": covered.first_finding_id,
                                                   "last_finding_id": covered.last_finding_id,
                                                   "run_id": run_id})
            for message in messages:
                insert(self.db, "deliveries", {
                    "digest_id": digest_id, "recipient": message.recipient, "subject": message.subject,
                    "message": message.message, "message_id": message.message_id,
                    "status": DeliveryStatus.PENDING.value, "attempts": 0, "last_error": None,
                    "created_at": now, "updated_at": now, "sent_at": None})
        return digest_id

    def deliveries_to_send(self) -> list[DeliveryRecord]:
        """Deliveries not yet sent: queued, failed for a temporary reason, or cut off while sending."""
        return records(DeliveryRecord, self.db.query(
            "SELECT * FROM deliveries WHERE status IN ('pending', 'failed', 'sending') ORDER BY id"),
            status=DeliveryStatus)

    def undelivered(self) -> list[DeliveryRecord]:
        return records(DeliveryRecord, self.db.query("SELECT * FROM deliveries WHERE status != 'sent' ORDER BY id"),
                       status=DeliveryStatus)

    def mark_delivery(self, delivery_id: int, status: DeliveryStatus, error: str | None = None,
                      attempted: bool = False) -> None:
        now = utcnow().isoformat()
        with self.transaction():
            self.db.execute("UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?, "
                            "attempts = attempts + ?, sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END "
                            "WHERE id = ?", [status.value, error, now, int(attempted), status.value, now, delivery_id])
