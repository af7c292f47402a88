"""What every Outlit operator shares: the connection id, a lazily built hook, and the stop-on-kill flag."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from outlit_core.client.exceptions import OutlitError
from outlit_provider.hooks.outlit import OutlitHook


# Both bases define status_code (AirflowException a class-level HTTP status for its API); the MRO picks
# OutlitError's, the status Outlit answered (None here: nothing was answered), which is the one meant.
class OutlitTaskStopped(OutlitError, AirflowException):  # type: ignore[misc]
    """The task was killed between two Outlit requests; the message says how far it got."""


class StopOnKill:
    """The one stop-on-kill mechanism of the provider's operators (transfers included).

    ``on_kill`` (SIGTERM from the task supervisor, or an execution timeout) sets ``stop_event``; work loops
    check it between requests (``_check_stop``) or hand it to the engine that sends batches
    (``run_reverse_load(stop=...)``), so a killed task never leaves a request half-sent.
    """

    log: Any

    @cached_property
    def stop_event(self) -> threading.Event:
        # Created on first use, not in __init__: DAG code deep-copies operators (mapping, subsets) and a lock
        # cannot be copied.
        return threading.Event()

    def on_kill(self) -> None:
        # Work here is a sequence of short requests: stopping between them is the cleanest cancel there is,
        # and none of the endpoints has remote work that outlives the request.
        self.stop_event.set()
        self.log.info("Kill requested: no further Outlit requests will be sent by this task.")

    def _fresh_stop_event(self) -> None:
        """Clear the flag at the start of a run (a kill aimed at an earlier try is not this one's)."""
        self.__dict__.pop("stop_event", None)

    def _check_stop(self, progress: str) -> None:
        if self.stop_event.is_set():
            raise OutlitTaskStopped(f"Stopped on kill request after {progress}.")


class OutlitBaseOperator(StopOnKill, BaseOperator):
    """Base for Outlit operators. The hook (and with it the connection) is resolved only in ``execute``;
    each ``execute`` opens its client with ``with self.hook.get_client() as client``."""

    ui_color = "#e8f0fe"

    def __init__(self, *, outlit_conn_id: str = OutlitHook.default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.outlit_conn_id = outlit_conn_id

    @cached_property
    def hook(self) -> OutlitHook:
        return OutlitHook(self.outlit_conn_id)
