"""One entity type's stream work: a record → its effects → the change log, then the channels.

Built with its dependencies by chalicelib/context.py (the one place the app is wired);
handlers.py runs it over each Lambda batch.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.observability import logger
from chalicelib.streams.effects import Effects, effects_of
from chalicelib.streams.records import PermanentRecordError
from chalicelib.streams.sinks import ChangeLog, Deliveries, Parking


@dataclass
class Pipeline:
    entity_type: str
    change_log: ChangeLog
    parking: Parking
    deliveries: Deliveries

    def handle_record(self, record: dict[str, Any]) -> Effects:
        try:
            return effects_of(record, self.entity_type)
        except PermanentRecordError as error:
            logger.warning("parking a record that can never be processed", error=str(error))
            self.parking.park(record, error)
            return Effects()

    def apply(self, effects: Sequence[Effects]) -> int:
        written = self.change_log.write(effects)
        for index, effect in enumerate(effects[:written]):
            try:
                self.deliveries.deliver(effect)
            except Exception:
                logger.exception("notification channel failed; the record will be retried")
                return index
        return written
