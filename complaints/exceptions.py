"""Errors of the ingest pipeline.

An ``IngestError`` is permanent: no retry could fix the input, so the message is
marked failed with the reason and the job ends normally. Anything else (database,
network) propagates so that RQ retries the job.
"""


class IngestError(Exception):
    """Input that cannot be processed, whatever the number of tries."""


class MessageTooLargeError(IngestError):
    def __init__(self, size: int, limit: int):
        super().__init__(f"The message is {size} bytes; the limit is {limit} bytes.")
        self.size = size
        self.limit = limit


class EmptyMessageError(IngestError):
    def __init__(self):
        super().__init__("The message is empty.")


class UnreadableMessageError(IngestError):
    """The parser could not make anything of the message."""
