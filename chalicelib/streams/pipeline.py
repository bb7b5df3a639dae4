"""One entity type's stream work: a record → its effects → the audit log and the inbox.

Nothing here waits on anything outside DynamoDB: notifications go out from the inbox's own
stream (chalicelib/delivery/), so a slow receiver never delays the audit.

Built with its dependencies by chalicelib/context.py (the one place the app is wired);
handlers.py runs it over each Lambda batch.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.observability import logger
from chalicelib.streams.effects import Effects, effects_of
from chalicelib.streams.records import PermanentRecordError
from chalicelib.streams.sinks import ChangeLog, Parking


@dataclass
class Pipeline:
    entity_type: str
    change_log: ChangeLog
    parking: Parking

    def handle_record(self, record: dict[str, Any]) -> Effects:
        try:
            return effects_of(record, self.entity_type)
        except PermanentRecordError as error:
            logger.warning("parking a record that can never be processed", error=str(error))
            self.parking.park(record, error)
            return Effects()

    def apply(self, effects: Sequence[Effects]) -> int:
        return self.change_log.write(effects)
