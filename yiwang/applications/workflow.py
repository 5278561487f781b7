"""The applications module's view of the BPMN engine: one runner per catalogue version."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from yiwang.catalog.models import ServiceItemVersion
from yiwang.core.workflow import (
    ProcessDefinition,
    ReadyTask,
    WorkflowDefinitionError,
    WorkflowRuntimeError,
    workflow_complete_user_task,
    workflow_fire_due_timers,
    workflow_is_completed,
    workflow_ready_user_tasks,
    workflow_set_data,
    workflow_start,
)

__all__ = ["ProcessRunner", "ReadyTask", "WorkflowError", "runner_for_version"]

# A stored definition that no longer parses, or a step the process refuses: either way the
# application stays as it was and the caller reports a conflict.
WorkflowError = (WorkflowDefinitionError, WorkflowRuntimeError)


class ProcessRunner:
    """Runs instances of the process a published catalogue version froze."""

    def __init__(self, definition: ProcessDefinition) -> None:
        self.definition = definition

    def start(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return workflow_start(definition=self.definition, data=data)

    def ready_tasks(self, state: Mapping[str, Any]) -> list[ReadyTask]:
        return workflow_ready_user_tasks(dict(state))

    def complete(
        self, state: Mapping[str, Any], task_id: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        return workflow_complete_user_task(dict(state), self.definition, task_id=task_id, data=data)

    def set_data(self, state: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        return workflow_set_data(dict(state), self.definition, data=data)

    def is_completed(self, state: Mapping[str, Any]) -> bool:
        return workflow_is_completed(dict(state))

    def fire_due_timers(
        self, state: Mapping[str, Any], now: datetime.datetime
    ) -> tuple[dict[str, Any], list[str]]:
        new_state, fired = workflow_fire_due_timers(dict(state), self.definition, now=now)
        return new_state, [timer.id for timer in fired]


def runner_for_version(version: ServiceItemVersion) -> ProcessRunner:
    snapshot = version.snapshot
    return ProcessRunner(
        ProcessDefinition(
            bpmn_xml=snapshot["bpmn_xml"],
            process_id=snapshot["process_id"],
            dmn_xmls=tuple(snapshot.get("dmn_xmls", ())),
        )
    )
