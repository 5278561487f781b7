"""BPMN workflows of service items: check a catalogue process, run one application's instance.

A published catalogue version holds the item's BPMN process (and the DMN tables it calls);
an application keeps only the JSON state of its own instance (``Application.workflow_state``)
and every call here is handed the version's :class:`ProcessDefinition` again. The state
carries no copy of the process: it is bound to the definition it started under by a digest,
so publishing a changed process never touches applications in flight, and a state passed
with another definition is refused instead of being misread.

Conventions (``catalog-data/README.md``, "Processes"): lanes are roles (``applicant``,
``clerk``, ``reviewer``, ``approver``); user task ids are the platform's step names
(:data:`STEP_LANES`); completing a step sets ``outcome`` (one of :data:`STEP_OUTCOMES`) and
``comment``, and exclusive gateways route on them. Deadlines are ``timeDate`` timers (usually
non-interrupting boundary events) that name a process variable holding an ISO 8601 datetime
with a UTC offset, e.g. ``acceptance_due_at``. They fire only in
:func:`workflow_fire_due_timers`, against the ``now`` it is given, never on the wall clock.

Trust: BPMN and DMN are catalogue data written by platform administrators. SpiffWorkflow
evaluates gateway conditions, scripts and DMN entries as Python (``eval``/``exec``); the
restricted builtins below keep imports and I/O out of reach by accident, but they are not a
sandbox. Applicant input only ever arrives as data values, never as expressions.
"""

from __future__ import annotations

import ast
import builtins
import contextvars
import copy
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple
from uuid import UUID

from lxml import etree  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn.parser.ValidationException import (
    ValidationException,
)
from SpiffWorkflow.bpmn.script_engine import (
    PythonScriptEngine,
    TaskDataEnvironment,
)
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.workflow import (
    VERSION as SPIFF_SERIALIZER_VERSION,
)
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import (
    CatchingEvent,
)
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import (
    VALIDATOR,
    SpiffBpmnParser,
)
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

__all__ = [
    "ROLES",
    "STEP_LANES",
    "STEP_OUTCOMES",
    "FiredTimer",
    "ProcessDefinition",
    "ProcessInfo",
    "ReadyTask",
    "TimerInfo",
    "UserTaskInfo",
    "WorkflowDefinitionError",
    "WorkflowRuntimeError",
    "WorkflowState",
    "process_validate",
    "workflow_complete_user_task",
    "workflow_data",
    "workflow_fire_due_timers",
    "workflow_is_completed",
    "workflow_ready_user_tasks",
    "workflow_set_data",
    "workflow_start",
]

ROLES = ("applicant", "clerk", "reviewer", "approver")
# The platform's steps and the lane (role) each belongs to.
STEP_LANES: Mapping[str, str] = {
    "accept": "clerk",
    "supplement": "applicant",
    "review": "reviewer",
    "decide": "approver",
    "deliver": "clerk",
}
# The outcomes each step may complete with; other user tasks accept any outcome.
STEP_OUTCOMES: Mapping[str, tuple[str, ...]] = {
    "accept": ("accept", "refuse", "supplement"),
    "supplement": ("resubmitted",),
    "review": ("pass", "return"),
    "decide": ("grant", "deny"),
    "deliver": ("delivered",),
}

# A JSON object stored in Application.workflow_state; treat it as opaque.
WorkflowState = dict[str, Any]

STATE_FORMAT = 1
_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": _BPMN_NS, "spiffworkflow": _SPIFF_NS}
_STEP_ID = re.compile(r"[a-z][a-z0-9_]{0,63}")
# Elements the wrapper cannot run or serialise, with what to use instead.
_UNSUPPORTED = {
    "task": "use a userTask for a person's step or a scriptTask for an automatic one",
    "manualTask": "use a userTask",
    "serviceTask": "outside systems are called by the platform, not by the process",
    "sendTask": "messages are not supported",
    "receiveTask": "messages are not supported",
    "subProcess": "draw the steps in the process itself so that each keeps its lane",
    "transaction": "draw the steps in the process itself",
    "adHocSubProcess": "draw the steps in the process itself",
    "callActivity": "draw the steps in the process itself",
}
_SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in (
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "float",
        "int",
        "isinstance",
        "len",
        "list",
        "max",
        "min",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
    )
}


class WorkflowDefinitionError(Exception):
    """A BPMN or DMN document is unusable: not well formed, not valid, or off-convention."""


class WorkflowRuntimeError(Exception):
    """A workflow call cannot proceed; the state passed in is left as it was."""


@dataclass(frozen=True)
class ProcessDefinition:
    """What one catalogue version runs: its BPMN, the process to start, its DMN tables."""

    bpmn_xml: str
    process_id: str
    dmn_xmls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept any sequence (the catalogue stores a JSON list) but stay hashable.
        object.__setattr__(self, "dmn_xmls", tuple(self.dmn_xmls))

    @cached_property
    def digest(self) -> str:
        payload = json.dumps([self.process_id, self.bpmn_xml, list(self.dmn_xmls)])
        return hashlib.sha256(payload.encode()).hexdigest()


class UserTaskInfo(NamedTuple):
    title: str  # the BPMN name, shown to people (Chinese)
    lane: str  # the role whose queue the task goes to


class TimerInfo(NamedTuple):
    task: str  # the task the timer is attached to ("" for an intermediate timer)
    deadline: str  # the process variable holding the due time


@dataclass(frozen=True)
class ProcessInfo:
    process_id: str
    name: str
    user_tasks: Mapping[str, UserTaskInfo]
    timers: Mapping[str, TimerInfo]
    decisions: tuple[str, ...]


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for a person."""

    id: str  # this task instance (a UUID); a loop back creates a new one
    name: str  # the step, e.g. "accept"
    title: str  # e.g. "受理"
    lane: str  # the role, e.g. "clerk"


@dataclass(frozen=True)
class FiredTimer:
    """A deadline that passed: the platform flags the application overdue and escalates."""

    id: str  # the timer event's BPMN id, e.g. "acceptance_overdue"
    task: str  # the step it is attached to, e.g. "accept"
    deadline: str  # the variable it read, e.g. "acceptance_due_at"
    due_at: datetime


# --- definitions ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compiled:
    spec: Any
    info: ProcessInfo
    digest: str
    task_spec_names: frozenset[str] = field(repr=False)


def process_validate(
    *, bpmn_xml: str, process_id: str, dmn_xmls: Sequence[str] = ()
) -> ProcessInfo:
    """Parse a process and its DMN tables and check the platform's conventions.

    Raises :class:`WorkflowDefinitionError` naming the problem and where it is. The parsed
    process is cached, so the first application of a new version starts without parsing.
    """
    return _compile(
        ProcessDefinition(bpmn_xml=bpmn_xml, process_id=process_id, dmn_xmls=tuple(dmn_xmls))
    ).info


@lru_cache(maxsize=128)
def _compile(definition: ProcessDefinition) -> _Compiled:
    # Keyed by the whole definition: every application of one catalogue version shares one
    # parsed spec. Parsed specs are only read while workflows run.
    bpmn = _parse_xml(definition.bpmn_xml, "BPMN")
    dmns = [_parse_xml(xml, f"DMN document {n}") for n, xml in enumerate(definition.dmn_xmls, 1)]
    for n, dmn in enumerate(dmns, 1):
        if dmn.find("{*}decision") is None:
            raise WorkflowDefinitionError(f"DMN document {n} defines no <decision>")
    process = _find_process(bpmn, definition.process_id)
    calls = _check_process_xml(process)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for n, dmn in enumerate(dmns, 1):
            parser.add_dmn_xml(dmn, filename=f"DMN document {n}")
        for decision, element in calls:
            if decision not in parser.dmn_parsers:
                known = ", ".join(f'"{d}"' for d in parser.dmn_parsers) or "none"
                raise WorkflowDefinitionError(
                    f'{_at(element)} calls DMN decision "{decision}", which no DMN document '
                    f"defines (decisions given: {known})"
                )
        parser.add_bpmn_xml(bpmn, filename="BPMN")
        spec = parser.get_spec(definition.process_id)
    except ValidationException as exc:
        raise WorkflowDefinitionError(_describe_validation(exc, bpmn)) from exc
    except (SpiffWorkflowException, etree.LxmlError, LookupError) as exc:
        raise WorkflowDefinitionError(f"{type(exc).__name__}: {exc}") from exc

    user_tasks: dict[str, UserTaskInfo] = {}
    timers: dict[str, TimerInfo] = {}
    for task_spec in spec.task_specs.values():
        if getattr(task_spec, "manual", False):
            user_tasks[task_spec.name] = _check_user_task(task_spec, process)
        if isinstance(task_spec, CatchingEvent) and isinstance(
            task_spec.event_definition, TimeDateEventDefinition
        ):
            definition_ = task_spec.event_definition
            task_spec.event_definition = _DeadlineTimer(
                definition_.name,
                definition_.expression.strip(),
                description=definition_.description,
            )
            timers[task_spec.name] = TimerInfo(
                task=_attached_task(task_spec), deadline=definition_.expression.strip()
            )
    if not user_tasks:
        raise WorkflowDefinitionError(
            f'process "{definition.process_id}" has no user task: there is nothing for '
            "staff or the applicant to do"
        )
    info = ProcessInfo(
        process_id=definition.process_id,
        name=process.get("name") or definition.process_id,
        user_tasks=MappingProxyType(user_tasks),
        timers=MappingProxyType(timers),
        decisions=tuple(dict.fromkeys(decision for decision, _ in calls)),
    )
    return _Compiled(
        spec=spec,
        info=info,
        digest=definition.digest,
        task_spec_names=frozenset(spec.task_specs),
    )


def _parse_xml(text: str, what: str) -> Any:
    # No entity expansion and no network: the documents are admin-trusted, not blindly so.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    try:
        return etree.fromstring(text.encode(), parser=parser)
    except etree.XMLSyntaxError as exc:
        raise WorkflowDefinitionError(f"{what} is not well-formed XML: {exc}") from exc


def _find_process(bpmn: Any, process_id: str) -> Any:
    processes = bpmn.findall(".//bpmn:process", _NS)
    for process in processes:
        if process.get("id") == process_id:
            return process
    found = ", ".join(f'"{p.get("id")}"' for p in processes) or "none"
    raise WorkflowDefinitionError(
        f'BPMN has no process with id "{process_id}" (processes found: {found})'
    )


def _at(element: Any) -> str:
    tag = etree.QName(element).localname
    return f'<{tag} id="{element.get("id", "")}"> (line {element.sourceline})'


def _check_process_xml(process: Any) -> list[tuple[str, Any]]:
    """Checks SpiffWorkflow does not make; returns the DMN decisions called, and where."""
    for tag, advice in _UNSUPPORTED.items():
        for element in process.iterfind(f".//bpmn:{tag}", _NS):
            raise WorkflowDefinitionError(f"{_at(element)} is not supported: {advice}")

    decisions = []
    for element in process.iterfind(".//bpmn:businessRuleTask", _NS):
        ref = element.findtext("bpmn:extensionElements/spiffworkflow:calledDecisionId", None, _NS)
        if not ref or not ref.strip():
            raise WorkflowDefinitionError(
                f"{_at(element)} names no DMN decision: add "
                "<spiffworkflow:calledDecisionId> to its extensionElements"
            )
        decisions.append((ref.strip(), element))

    for element in process.iterfind(".//bpmn:timerEventDefinition", _NS):
        event = element.getparent()
        time_date = element.findtext("bpmn:timeDate", None, _NS)
        if time_date is None or not time_date.strip().isidentifier():
            raise WorkflowDefinitionError(
                f"{_at(event)}: a timer must be a <timeDate> naming the process variable "
                "that holds its due time, e.g. acceptance_due_at"
            )

    for element in process.iterfind(".//bpmn:scriptTask", _NS):
        _compile_python(element.findtext("bpmn:script", "", _NS), "exec", element)

    flows = {flow.get("id"): flow for flow in process.iterfind(".//bpmn:sequenceFlow", _NS)}
    for flow in flows.values():
        condition = flow.findtext("bpmn:conditionExpression", None, _NS)
        if condition is not None:
            _compile_python(condition, "eval", flow)
    _check_gateway_outcomes(process, flows)
    return decisions


def _compile_python(source: str, mode: str, element: Any) -> ast.AST:
    try:
        return ast.parse(source.strip(), mode=mode)
    except SyntaxError as exc:
        raise WorkflowDefinitionError(
            f"{_at(element)}: the expression {source.strip()!r} does not parse: {exc.msg}"
        ) from exc


def _check_gateway_outcomes(process: Any, flows: Mapping[str, Any]) -> None:
    """A gateway right after a step may only test that step's outcomes (catches typos)."""
    by_id = {element.get("id"): element for element in process.iter()}
    for flow in flows.values():
        source, target = by_id.get(flow.get("sourceRef")), by_id.get(flow.get("targetRef"))
        if source is None or target is None:
            continue
        step = source.get("id")
        if etree.QName(source).localname != "userTask" or step not in STEP_OUTCOMES:
            continue
        if etree.QName(target).localname != "exclusiveGateway":
            continue
        for out in flows.values():
            if out.get("sourceRef") != target.get("id"):
                continue
            condition = out.findtext("bpmn:conditionExpression", None, _NS)
            if condition is None:
                continue
            for literal in _outcome_literals(_compile_python(condition, "eval", out)):
                if literal not in STEP_OUTCOMES[step]:
                    allowed = ", ".join(STEP_OUTCOMES[step])
                    raise WorkflowDefinitionError(
                        f'{_at(out)} tests outcome "{literal}", which step "{step}" never '
                        f"sets (its outcomes: {allowed})"
                    )


def _outcome_literals(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if not any(isinstance(o, ast.Name) and o.id == "outcome" for o in operands):
            continue
        for operand in operands:
            if isinstance(operand, ast.Constant) and isinstance(operand.value, str):
                yield operand.value
            elif isinstance(operand, ast.Tuple | ast.List | ast.Set):
                for item in operand.elts:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        yield item.value


def _check_user_task(task_spec: Any, process: Any) -> UserTaskInfo:
    if not _STEP_ID.fullmatch(task_spec.name):
        raise WorkflowDefinitionError(
            f'user task "{task_spec.name}": its id is a step name in lower case letters, '
            "digits and _"
        )
    element = process.find(f'.//*[@id="{task_spec.name}"]')
    where = _at(element) if element is not None else f'user task "{task_spec.name}"'
    title = (task_spec.bpmn_name or "").strip()
    if not title:
        raise WorkflowDefinitionError(f"{where} has no name: its name is the task's title")
    lane = task_spec.lane
    if lane not in ROLES:
        got = f'lane "{lane}"' if lane else "no lane"
        raise WorkflowDefinitionError(
            f"{where} is in {got}; user tasks belong in a lane named one of: {', '.join(ROLES)}"
        )
    expected = STEP_LANES.get(task_spec.name)
    if expected is not None and lane != expected:
        raise WorkflowDefinitionError(
            f'{where} is in lane "{lane}"; step "{task_spec.name}" belongs in lane "{expected}"'
        )
    if expected is None and lane == "applicant":
        raise WorkflowDefinitionError(
            f'{where} is in lane "applicant"; the applicant\'s only step is "supplement"'
        )
    return UserTaskInfo(title=title, lane=lane)


def _attached_task(task_spec: Any) -> str:
    if not isinstance(task_spec, BoundaryEvent):
        return ""
    for split in task_spec.inputs:
        if isinstance(split, BoundaryEventSplit):
            for output in split.outputs:
                if not isinstance(output, BoundaryEvent):
                    return str(output.name)
    return ""


def _describe_validation(exc: Any, bpmn: Any) -> str:
    message = str(exc.args[0]) if exc.args else type(exc).__name__
    where = []
    if exc.file_name:
        where.append(exc.file_name)
    if exc.id:
        where.append(f'<{str(exc.tag).removeprefix("bpmn:")} id="{exc.id}">')
        element = bpmn.find(f'.//*[@id="{exc.id}"]')
        if element is not None and not exc.line_number:
            exc.line_number = element.sourceline
    if exc.line_number:
        where.append(f"line {exc.line_number}")
    return f"{message} ({', '.join(where)})" if where else message


# --- deadlines --------------------------------------------------------------------------

# The moment timers are compared with; unset outside workflow_fire_due_timers.
_NOW: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("workflow_now", default=None)


class _DeadlineTimer(TimeDateEventDefinition):
    """A timeDate timer whose due time is a process variable, compared with ``_NOW``.

    SpiffWorkflow's own timers read the wall clock and keep the first value they read; this
    one rereads the variable, so an extended deadline (Art. 42) moves the timer.
    """

    def has_fired(self, my_task: Any) -> bool:
        if my_task._get_internal_data("event_fired", False):
            return True
        due = _due_at(my_task.data, self.expression, my_task.task_spec.name)
        my_task._set_internal_data(event_value=None if due is None else due.isoformat())
        now = _NOW.get()
        if due is not None and now is not None and due <= now:
            my_task._set_internal_data(event_fired=True)
            return True
        return False


def _due_at(data: Mapping[str, Any], variable: str, timer: str) -> datetime | None:
    if variable not in data:
        raise WorkflowRuntimeError(
            f'timer "{timer}" reads the deadline "{variable}", which is not in the process data'
        )
    value = data[variable]
    if value is None or value == "":
        return None  # no deadline for this application
    due = None
    if isinstance(value, str):
        try:
            due = datetime.fromisoformat(value)
        except ValueError:
            due = None
    if due is None or due.tzinfo is None:
        raise WorkflowRuntimeError(
            f'deadline "{variable}" must be an ISO 8601 datetime with a UTC offset, not {value!r}'
        )
    return due


# --- running ----------------------------------------------------------------------------

_SCRIPT_ENGINE = PythonScriptEngine(
    environment=TaskDataEnvironment({"__builtins__": _SAFE_BUILTINS})
)
_REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)


def workflow_start(*, definition: ProcessDefinition, data: Mapping[str, Any]) -> WorkflowState:
    """Start an instance with ``data`` as its process variables and run it until it waits.

    ``data`` must hold every deadline variable the first timers read (for the standard
    processes ``acceptance_due_at``), ISO 8601 with a UTC offset, or None for no deadline.
    """
    compiled = _compile(definition)
    variables = _json_copy(data, "data")
    workflow = BpmnWorkflow(compiled.spec, script_engine=_SCRIPT_ENGINE)
    workflow.task_tree.data = variables
    with _engine_errors("starting the process"):
        workflow.do_engine_steps()
    return _dump(workflow, compiled)


def workflow_ready_user_tasks(state: WorkflowState) -> list[ReadyTask]:
    """The user tasks waiting for a person, in process order. Needs no definition."""
    return [ReadyTask(**task) for task in _summary(state)["ready"]]


def workflow_complete_user_task(
    state: WorkflowState,
    definition: ProcessDefinition,
    *,
    task_id: str,
    data: Mapping[str, Any],
) -> WorkflowState:
    """Complete a ready user task with ``data`` and run the engine until it waits again.

    ``data`` is merged into the task's data; for a platform step it must hold ``outcome``
    (see :data:`STEP_OUTCOMES`), and ``comment`` is reset to "" unless given so a step never
    shows the previous step's comment. Raises :class:`WorkflowRuntimeError` for an unknown or
    not-ready task, an outcome the step or the gateway after it does not accept, or an
    error in a condition, script or DMN table; the state passed in is never changed.
    """
    compiled = _compile(definition)
    workflow = _load(state, compiled)
    task = _ready_user_task(workflow, task_id)
    values = _json_copy(data, "data")
    allowed = STEP_OUTCOMES.get(task.task_spec.name)
    if allowed is not None and values.get("outcome") not in allowed:
        raise WorkflowRuntimeError(
            f'step "{task.task_spec.name}" completes with outcome one of '
            f"{', '.join(allowed)}, not {values.get('outcome')!r}"
        )
    task.data.update({"comment": "", **values})
    with _engine_errors(f'completing "{task.task_spec.name}"'):
        task.run()
        workflow.do_engine_steps()
    return _dump(workflow, compiled)


def workflow_fire_due_timers(
    state: WorkflowState, definition: ProcessDefinition, *, now: datetime
) -> tuple[WorkflowState, list[FiredTimer]]:
    """Fire the timers due at ``now`` (inclusive), each once; returns the new state and them.

    When nothing is due the same state is returned without parsing it, so a periodic sweep
    over many applications stays cheap.
    """
    if now.tzinfo is None:
        raise WorkflowRuntimeError("now must be timezone-aware")
    pending = _summary(state)["timers"]
    if not any(t["due_at"] and datetime.fromisoformat(t["due_at"]) <= now for t in pending):
        return state, []
    compiled = _compile(definition)
    workflow = _load(state, compiled)
    waiting = [
        t for t in workflow.event_manager.tasks.values() if t.task_spec.name in compiled.info.timers
    ]
    token = _NOW.set(now)
    try:
        with _engine_errors("firing timers"):
            workflow.refresh_timers()
            workflow.do_engine_steps()
    finally:
        _NOW.reset(token)
    fired = []
    for task in waiting:
        if task.state == TaskState.COMPLETED:
            timer = compiled.info.timers[task.task_spec.name]
            due = datetime.fromisoformat(task._get_internal_data("event_value"))
            fired.append(FiredTimer(task.task_spec.name, timer.task, timer.deadline, due))
    fired.sort(key=lambda t: (t.due_at, t.id))
    return _dump(workflow, compiled), fired


def workflow_set_data(
    state: WorkflowState, definition: ProcessDefinition, *, data: Mapping[str, Any]
) -> WorkflowState:
    """Change process variables of the running instance outside a step.

    For a deadline that moves while its task waits, e.g. ``decision_due_at`` after an
    approved extension (Art. 42) or a pause; the waiting timers reread it.
    """
    compiled = _compile(definition)
    workflow = _load(state, compiled)
    values = _json_copy(data, "data")
    active = TaskState.READY | TaskState.WAITING | TaskState.STARTED
    for task in workflow.get_tasks(state=active):
        task.data.update(values)
        # A waiting timer copies its data from the split before it at every refresh.
        parent = task.parent
        if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
            parent.data.update(values)
    with _engine_errors("updating process data"):
        workflow.refresh_timers()
    return _dump(workflow, compiled)


def workflow_is_completed(state: WorkflowState) -> bool:
    """Whether the instance has reached its end. Needs no definition."""
    return bool(_summary(state)["completed"])


def workflow_data(state: WorkflowState) -> dict[str, Any]:
    """The process variables as the next step sees them (at the end: as they ended)."""
    return copy.deepcopy(_summary(state)["data"])


# --- internals --------------------------------------------------------------------------


@contextmanager
def _engine_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except SpiffWorkflowException as exc:
        message = str(exc.args[0]) if exc.args else type(exc).__name__
        notes = [note.strip().rstrip(".") for note in getattr(exc, "notes", []) if note.strip()]
        # SpiffWorkflow wraps the error of a condition, script or DMN entry; name it.
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, SpiffWorkflowException):
            notes.append(f"{type(cause).__name__}: {cause}")
        detail = "; ".join([message, *notes])
        raise WorkflowRuntimeError(f"error {doing}: {detail}") from exc


def _json_copy(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise WorkflowRuntimeError(f"{what} must be a JSON object")
    try:
        copied = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise WorkflowRuntimeError(f"{what} is not JSON-serialisable: {exc}") from exc
    if not isinstance(copied, dict):  # pragma: no cover - a Mapping dumps to an object
        raise WorkflowRuntimeError(f"{what} must be a JSON object")
    return copied


def _summary(state: WorkflowState) -> WorkflowState:
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise WorkflowRuntimeError("not a workflow state (or one of an unknown format)")
    return state


def _ready_user_task(workflow: Any, task_id: str) -> Any:
    try:
        uuid = UUID(task_id)
    except (TypeError, ValueError, AttributeError):
        raise WorkflowRuntimeError(f"no task {task_id!r} in this workflow") from None
    task = workflow.tasks.get(uuid)
    if task is None or not task.task_spec.manual:
        raise WorkflowRuntimeError(f"no user task {task_id!r} in this workflow")
    if task.state != TaskState.READY:
        state_name = TaskState.get_name(task.state)
        raise WorkflowRuntimeError(
            f'task {task_id} ("{task.task_spec.name}") is not ready: it is {state_name}'
        )
    return task


def _preorder(workflow: Any) -> list[Any]:
    # Parents before children: a task's data is stored as a delta of its parent's, and
    # PostgreSQL's jsonb does not keep the key order of an object of tasks.
    ordered, stack = [], [workflow.task_tree]
    while stack:
        task = stack.pop()
        ordered.append(task)
        stack.extend(reversed(task.children))
    return ordered


def _dump(workflow: Any, compiled: _Compiled) -> WorkflowState:
    tasks = _preorder(workflow)
    completed = workflow.is_completed()
    ready = [t for t in tasks if t.state == TaskState.READY and t.task_spec.manual]
    timers = [
        {
            "id": t.task_spec.name,
            "due_at": t._get_internal_data("event_value"),
        }
        for t in tasks
        if t.state == TaskState.WAITING and t.task_spec.name in compiled.info.timers
    ]
    if completed:
        current = workflow.data
    elif ready:
        current = {}
        for task in ready:
            current.update(task.data)
    else:
        current = workflow.last_task.data if workflow.last_task is not None else {}
    engine = {
        "spiff": SPIFF_SERIALIZER_VERSION,
        "root": str(workflow.task_tree.id),
        "tasks": [_REGISTRY.convert(task) for task in tasks],
        "data": _REGISTRY.convert(_REGISTRY.clean(workflow.data)),
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "correlations": _REGISTRY.convert(workflow.correlations),
        "bpmn_events": _REGISTRY.convert(workflow.bpmn_events),
    }
    return {
        "format": STATE_FORMAT,
        "process_id": compiled.info.process_id,
        "definition": compiled.digest,
        "completed": completed,
        "ready": [
            {
                "id": str(t.id),
                "name": t.task_spec.name,
                "title": compiled.info.user_tasks[t.task_spec.name].title,
                "lane": compiled.info.user_tasks[t.task_spec.name].lane,
            }
            for t in ready
        ],
        "timers": timers,
        "data": _json_copy(_REGISTRY.clean(current), "process data"),
        "engine": engine,
    }


def _load(state: WorkflowState, compiled: _Compiled) -> Any:
    summary = _summary(state)
    if summary.get("definition") != compiled.digest:
        raise WorkflowRuntimeError(
            "this workflow started under another definition of process "
            f'"{summary.get("process_id")}"; pass the definition of the catalogue version '
            "the application was submitted under"
        )
    engine = summary["engine"]
    if engine.get("spiff") != SPIFF_SERIALIZER_VERSION:
        raise WorkflowRuntimeError(
            f"workflow state written by SpiffWorkflow serializer {engine.get('spiff')}, "
            f"this is {SPIFF_SERIALIZER_VERSION}: migrate stored states first"
        )
    workflow = BpmnWorkflow(compiled.spec, script_engine=_SCRIPT_ENGINE, deserializing=True)
    for task in engine["tasks"]:
        if task["task_spec"] not in compiled.task_spec_names:
            raise WorkflowRuntimeError(
                f'workflow state names an unknown step "{task["task_spec"]}"'
            )
        _REGISTRY.restore(task, workflow=workflow)
    workflow.task_tree = workflow.tasks[UUID(engine["root"])]
    workflow.success = engine["success"]
    workflow.completed = engine["completed"]
    workflow.correlations = _REGISTRY.restore(engine["correlations"])
    workflow.data = _REGISTRY.restore(engine["data"])
    workflow.bpmn_events = _REGISTRY.restore(engine["bpmn_events"])
    if engine["last_task"] is not None:
        workflow.last_task = workflow.tasks.get(UUID(engine["last_task"]))
    return workflow
