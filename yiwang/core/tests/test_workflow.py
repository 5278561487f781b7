"""The workflow wrapper, run on the catalogue's own processes and on small made-up ones."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from yiwang.core.workflow import (
    FiredTimer,
    ProcessDefinition,
    ReadyTask,
    TimerInfo,
    UserTaskInfo,
    WorkflowDefinitionError,
    WorkflowRuntimeError,
    WorkflowState,
    process_validate,
    workflow_complete_user_task,
    workflow_data,
    workflow_fire_due_timers,
    workflow_is_completed,
    workflow_ready_user_tasks,
    workflow_set_data,
    workflow_start,
)

CATALOG = Path(__file__).resolve().parents[3] / "catalog-data"
CST = timezone(timedelta(hours=8))

ACCEPTANCE_DUE = datetime(2025, 3, 7, 23, 59, 59, tzinfo=CST)
DECISION_DUE = datetime(2025, 4, 3, 23, 59, 59, tzinfo=CST)


def _read(path: str) -> str:
    return (CATALOG / path).read_text(encoding="utf-8")


LICENSING = ProcessDefinition(
    bpmn_xml=_read("processes/licensing-standard.bpmn"), process_id="licensing_standard"
)
CONFIRMATION = ProcessDefinition(
    bpmn_xml=_read("processes/confirmation-simple.bpmn"), process_id="confirmation_simple"
)
PAYMENT_DMN = _read("decisions/payment-route.dmn")
PAYMENT = ProcessDefinition(
    bpmn_xml=_read("processes/payment-with-decision.bpmn"),
    process_id="payment_with_decision",
    dmn_xmls=(PAYMENT_DMN,),
)


def _start(definition: ProcessDefinition, **data: Any) -> WorkflowState:
    variables = {
        "name": "张三",
        "amount": 3000,
        "applicant_type": "person",
        "acceptance_due_at": ACCEPTANCE_DUE.isoformat(),
        "decision_due_at": None,
        **data,
    }
    return _stored(workflow_start(definition=definition, data=variables))


def _stored(state: WorkflowState) -> WorkflowState:
    # What a JSONField gives back.
    return json.loads(json.dumps(state))  # type: ignore[no-any-return]


def _ready(state: WorkflowState) -> list[tuple[str, str, str]]:
    return [(t.name, t.title, t.lane) for t in workflow_ready_user_tasks(state)]


def _task(state: WorkflowState, name: str) -> ReadyTask:
    [task] = [t for t in workflow_ready_user_tasks(state) if t.name == name]
    return task


def _complete(
    state: WorkflowState, definition: ProcessDefinition, name: str, outcome: str, **data: Any
) -> WorkflowState:
    task_id = _task(state, name).id
    new = workflow_complete_user_task(
        state, definition, task_id=task_id, data={"outcome": outcome, **data}
    )
    return _stored(new)


def _accept(state: WorkflowState, definition: ProcessDefinition) -> WorkflowState:
    return _complete(
        state, definition, "accept", "accept", decision_due_at=DECISION_DUE.isoformat()
    )


def _resubmit(state: WorkflowState, definition: ProcessDefinition) -> WorkflowState:
    return _complete(
        state,
        definition,
        "supplement",
        "resubmitted",
        acceptance_due_at=(ACCEPTANCE_DUE + timedelta(days=10)).isoformat(),
    )


# --- the standard licensing process --------------------------------------------------


def test_licensing_waits_for_the_clerk_to_accept_after_submission() -> None:
    state = _start(LICENSING)

    assert _ready(state) == [("accept", "受理", "clerk")]
    assert workflow_is_completed(state) is False
    assert workflow_data(state)["name"] == "张三"


def test_licensing_accept_review_grant_deliver_completes() -> None:
    state = _accept(_start(LICENSING), LICENSING)
    assert _ready(state) == [("review", "审查", "reviewer")]

    state = _complete(state, LICENSING, "review", "pass", comment="符合条件")
    assert _ready(state) == [("decide", "决定", "approver")]
    assert workflow_data(state)["comment"] == "符合条件"

    state = _complete(state, LICENSING, "decide", "grant")
    assert _ready(state) == [("deliver", "制证送达", "clerk")]
    assert workflow_data(state)["comment"] == ""

    state = _complete(state, LICENSING, "deliver", "delivered")
    assert _ready(state) == []
    assert workflow_is_completed(state) is True
    assert workflow_data(state) == {
        "name": "张三",
        "amount": 3000,
        "applicant_type": "person",
        "acceptance_due_at": ACCEPTANCE_DUE.isoformat(),
        "decision_due_at": DECISION_DUE.isoformat(),
        "outcome": "delivered",
        "comment": "",
    }


def test_licensing_supplement_loop_twice_then_accept() -> None:
    state = _start(LICENSING)
    accept_ids = []
    for _ in range(2):
        accept_ids.append(_task(state, "accept").id)
        state = _complete(state, LICENSING, "accept", "supplement", comment="缺少身份证复印件")
        assert _ready(state) == [("supplement", "补正材料", "applicant")]
        assert workflow_data(state)["comment"] == "缺少身份证复印件"
        state = _resubmit(state, LICENSING)
        assert _ready(state) == [("accept", "受理", "clerk")]
    accept_ids.append(_task(state, "accept").id)

    state = _accept(state, LICENSING)

    assert len(set(accept_ids)) == 3
    assert _ready(state) == [("review", "审查", "reviewer")]


def test_licensing_refuse_ends_the_application_at_acceptance() -> None:
    state = _complete(_start(LICENSING), LICENSING, "accept", "refuse", comment="不属于本机关职权")

    assert workflow_is_completed(state) is True
    assert _ready(state) == []
    assert workflow_data(state)["outcome"] == "refuse"
    assert workflow_data(state)["comment"] == "不属于本机关职权"


def test_licensing_deny_ends_without_delivery() -> None:
    state = _complete(_accept(_start(LICENSING), LICENSING), LICENSING, "review", "pass")

    state = _complete(state, LICENSING, "decide", "deny", comment="不符合法定条件")

    assert workflow_is_completed(state) is True
    assert workflow_data(state)["outcome"] == "deny"


def test_licensing_review_return_asks_the_applicant_to_supplement() -> None:
    state = _accept(_start(LICENSING), LICENSING)

    state = _complete(state, LICENSING, "review", "return", comment="请补充场地证明")
    assert _ready(state) == [("supplement", "补正材料", "applicant")]

    state = _resubmit(state, LICENSING)
    assert _ready(state) == [("accept", "受理", "clerk")]


# --- the simple confirmation process -------------------------------------------------


def test_confirmation_accept_decide_deliver_completes_without_review() -> None:
    state = _start(CONFIRMATION)
    assert _ready(state) == [("accept", "受理", "clerk")]

    state = _accept(state, CONFIRMATION)
    assert _ready(state) == [("decide", "审核决定", "approver")]

    state = _complete(state, CONFIRMATION, "decide", "grant")
    assert _ready(state) == [("deliver", "出具结果并送达", "clerk")]

    state = _complete(state, CONFIRMATION, "deliver", "delivered")
    assert workflow_is_completed(state) is True


def test_confirmation_supplement_loop_twice_then_accept() -> None:
    state = _start(CONFIRMATION)
    for _ in range(2):
        state = _complete(state, CONFIRMATION, "accept", "supplement")
        assert _ready(state) == [("supplement", "补正材料", "applicant")]
        state = _resubmit(state, CONFIRMATION)

    state = _accept(state, CONFIRMATION)

    assert _ready(state) == [("decide", "审核决定", "approver")]


def test_confirmation_refuse_ends_the_application() -> None:
    state = _complete(_start(CONFIRMATION), CONFIRMATION, "accept", "refuse")

    assert workflow_is_completed(state) is True
    assert workflow_data(state)["outcome"] == "refuse"


def test_confirmation_deny_ends_without_delivery() -> None:
    state = _complete(_accept(_start(CONFIRMATION), CONFIRMATION), CONFIRMATION, "decide", "deny")

    assert workflow_is_completed(state) is True
    assert workflow_data(state)["outcome"] == "deny"


# --- the payment process and its DMN table -------------------------------------------


@pytest.mark.parametrize(
    ("amount", "applicant_type", "route", "next_step"),
    [
        (5000, "person", "fast", ("decide", "给付决定", "approver")),
        (0, "person", "fast", ("decide", "给付决定", "approver")),
        (5000.01, "person", "review", ("review", "审查", "reviewer")),
        (5001, "person", "review", ("review", "审查", "reviewer")),
        (100, "organisation", "review", ("review", "审查", "reviewer")),
        (9000, "organisation", "review", ("review", "审查", "reviewer")),
    ],
)
def test_payment_route_is_decided_by_the_dmn_table(
    amount: float, applicant_type: str, route: str, next_step: tuple[str, str, str]
) -> None:
    state = _start(PAYMENT, amount=amount, applicant_type=applicant_type)

    state = _accept(state, PAYMENT)

    assert workflow_data(state)["route"] == route
    assert _ready(state) == [next_step]


def test_payment_fast_route_completes_without_review() -> None:
    state = _accept(_start(PAYMENT, amount=800), PAYMENT)

    state = _complete(state, PAYMENT, "decide", "grant")
    assert _ready(state) == [("deliver", "发放并告知", "clerk")]
    state = _complete(state, PAYMENT, "deliver", "delivered")

    assert workflow_is_completed(state) is True


def test_payment_review_route_passes_then_completes() -> None:
    state = _accept(_start(PAYMENT, amount=20000), PAYMENT)

    state = _complete(state, PAYMENT, "review", "pass")
    assert _ready(state) == [("decide", "给付决定", "approver")]
    state = _complete(state, PAYMENT, "decide", "grant")
    state = _complete(state, PAYMENT, "deliver", "delivered")

    assert workflow_is_completed(state) is True


def test_payment_returned_application_is_routed_again_after_resubmission() -> None:
    state = _accept(_start(PAYMENT, amount=20000), PAYMENT)
    state = _complete(state, PAYMENT, "review", "return")
    state = _complete(
        state,
        PAYMENT,
        "supplement",
        "resubmitted",
        amount=4000,
        acceptance_due_at=ACCEPTANCE_DUE.isoformat(),
    )

    state = _accept(state, PAYMENT)

    assert workflow_data(state)["route"] == "fast"
    assert _ready(state) == [("decide", "给付决定", "approver")]


def test_payment_without_an_amount_cannot_be_accepted_and_state_is_unchanged() -> None:
    state = _stored(
        workflow_start(
            definition=PAYMENT,
            data={"applicant_type": "person", "acceptance_due_at": ACCEPTANCE_DUE.isoformat()},
        )
    )
    before = copy.deepcopy(state)

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        _accept(state, PAYMENT)

    message = str(excinfo.value)
    assert message.startswith('error completing "accept": Error evaluating expression \'amount')
    assert message.endswith("NameError: name 'amount' is not defined")
    assert state == before


# --- completing tasks: failures leave the state as it was ----------------------------


def test_completing_an_unknown_task_raises_and_leaves_the_state_unchanged() -> None:
    state = _start(LICENSING)
    before = copy.deepcopy(state)
    unknown = str(uuid.uuid4())

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_complete_user_task(state, LICENSING, task_id=unknown, data={"outcome": "accept"})

    assert str(excinfo.value) == f"no user task {unknown!r} in this workflow"
    assert state == before


def test_completing_with_a_malformed_task_id_raises() -> None:
    state = _start(LICENSING)

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_complete_user_task(state, LICENSING, task_id="42", data={"outcome": "accept"})

    assert str(excinfo.value) == "no task '42' in this workflow"


def test_completing_a_task_that_is_no_longer_ready_raises_and_leaves_the_state_unchanged() -> None:
    state = _start(LICENSING)
    accept_id = _task(state, "accept").id
    state = _accept(state, LICENSING)
    before = copy.deepcopy(state)

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_complete_user_task(state, LICENSING, task_id=accept_id, data={"outcome": "accept"})

    assert str(excinfo.value) == f'task {accept_id} ("accept") is not ready: it is COMPLETED'
    assert state == before


def test_completing_a_task_that_is_not_yet_ready_raises() -> None:
    state = _start(LICENSING)
    [review] = [t for t in state["engine"]["tasks"] if t["task_spec"] == "review"]

    with pytest.raises(WorkflowRuntimeError, match=r'\("review"\) is not ready: it is MAYBE$'):
        workflow_complete_user_task(state, LICENSING, task_id=review["id"], data={})


@pytest.mark.parametrize("data", [{"outcome": "grant"}, {"outcome": ""}, {}])
def test_completing_a_step_with_an_outcome_it_does_not_have_raises_and_leaves_the_state_unchanged(
    data: dict[str, str],
) -> None:
    state = _start(LICENSING)
    before = copy.deepcopy(state)

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_complete_user_task(state, LICENSING, task_id=_task(state, "accept").id, data=data)

    assert str(excinfo.value) == (
        f'step "accept" completes with outcome one of accept, refuse, supplement, '
        f"not {data.get('outcome')!r}"
    )
    assert state == before


def test_an_outcome_no_gateway_accepts_raises_and_leaves_the_state_unchanged() -> None:
    # site_check is not a platform step, so only its gateway can reject an outcome.
    definition = ProcessDefinition(
        bpmn_xml=_process(
            """
            <bpmn:startEvent id="start"/>
            <bpmn:userTask id="site_check" name="现场核查"/>
            <bpmn:exclusiveGateway id="checked"/>
            <bpmn:endEvent id="passed"/>
            <bpmn:endEvent id="failed"/>
            <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="site_check"/>
            <bpmn:sequenceFlow id="f2" sourceRef="site_check" targetRef="checked"/>
            <bpmn:sequenceFlow id="f3" sourceRef="checked" targetRef="passed">
              <bpmn:conditionExpression>outcome == "ok"</bpmn:conditionExpression>
            </bpmn:sequenceFlow>
            <bpmn:sequenceFlow id="f4" sourceRef="checked" targetRef="failed">
              <bpmn:conditionExpression>outcome == "not_ok"</bpmn:conditionExpression>
            </bpmn:sequenceFlow>
            """,
            lanes={"reviewer": ["site_check"]},
        ),
        process_id="mini",
    )
    state = _stored(workflow_start(definition=definition, data={}))
    before = copy.deepcopy(state)

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_complete_user_task(
            state, definition, task_id=_task(state, "site_check").id, data={"outcome": "maybe"}
        )

    assert str(excinfo.value).startswith(
        'error completing "site_check": No conditions satisfied for checked'
    )
    assert state == before
    state = _complete(state, definition, "site_check", "ok")
    assert workflow_is_completed(state) is True


def test_completing_with_data_that_is_not_json_raises() -> None:
    state = _start(LICENSING)

    with pytest.raises(WorkflowRuntimeError, match=r"^data is not JSON-serialisable: "):
        workflow_complete_user_task(
            state,
            LICENSING,
            task_id=_task(state, "accept").id,
            data={"outcome": "accept", "decision_due_at": DECISION_DUE},
        )


def test_conditions_cannot_reach_python_builtins_such_as_import() -> None:
    definition = ProcessDefinition(
        bpmn_xml=_process(
            """
            <bpmn:startEvent id="start"/>
            <bpmn:exclusiveGateway id="sneaky"/>
            <bpmn:userTask id="accept" name="受理"/>
            <bpmn:endEvent id="end"/>
            <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="sneaky"/>
            <bpmn:sequenceFlow id="f2" sourceRef="sneaky" targetRef="accept">
              <bpmn:conditionExpression>__import__("os").getcwd() != ""</bpmn:conditionExpression>
            </bpmn:sequenceFlow>
            <bpmn:sequenceFlow id="f3" sourceRef="accept" targetRef="end"/>
            """,
            lanes={"clerk": ["accept"]},
        ),
        process_id="mini",
    )

    with pytest.raises(WorkflowRuntimeError, match="__import__"):
        workflow_start(definition=definition, data={})


# --- the stored state ----------------------------------------------------------------


def test_state_round_trips_through_json_at_every_step() -> None:
    state = workflow_start(
        definition=LICENSING,
        data={"form": {"姓名": "李四"}, "acceptance_due_at": ACCEPTANCE_DUE.isoformat()},
    )
    for name, outcome, data in [
        ("accept", "supplement", {}),
        ("supplement", "resubmitted", {}),
        ("accept", "accept", {"decision_due_at": DECISION_DUE.isoformat()}),
        ("review", "pass", {}),
        ("decide", "grant", {}),
        ("deliver", "delivered", {}),
    ]:
        assert json.loads(json.dumps(state)) == state
        state = workflow_complete_user_task(
            state, LICENSING, task_id=_task(state, name).id, data={"outcome": outcome, **data}
        )

    assert json.loads(json.dumps(state)) == state
    assert workflow_is_completed(state) is True


def test_state_survives_a_store_that_reorders_object_keys() -> None:
    # PostgreSQL's jsonb sorts object keys; task data is stored as deltas of the parent's.
    state = _accept(_start(LICENSING, form={"b": 1, "a": 2}), LICENSING)
    reordered = json.loads(json.dumps(state, sort_keys=True))

    state = _complete(reordered, LICENSING, "review", "pass")

    assert workflow_data(state)["form"] == {"b": 1, "a": 2}
    assert workflow_data(state)["decision_due_at"] == DECISION_DUE.isoformat()
    assert _ready(state) == [("decide", "决定", "approver")]


def test_workflow_data_is_a_copy() -> None:
    state = _start(LICENSING, form={"b": 1})

    workflow_data(state)["form"]["b"] = 3

    assert workflow_data(state)["form"] == {"b": 1}


def test_reading_something_that_is_not_a_workflow_state_raises() -> None:
    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_ready_user_tasks({})

    assert str(excinfo.value) == "not a workflow state (or one of an unknown format)"


# --- deadlines -----------------------------------------------------------------------


def test_acceptance_timer_does_not_fire_before_its_time() -> None:
    state = _start(LICENSING)

    new, fired = workflow_fire_due_timers(
        state, LICENSING, now=ACCEPTANCE_DUE - timedelta(seconds=1)
    )

    assert fired == []
    assert new is state


def test_acceptance_timer_fires_once_when_due_and_the_task_stays_ready() -> None:
    state = _start(LICENSING)
    accept_id = _task(state, "accept").id

    state, fired = workflow_fire_due_timers(state, LICENSING, now=ACCEPTANCE_DUE)

    assert fired == [
        FiredTimer(
            id="acceptance_overdue",
            task="accept",
            deadline="acceptance_due_at",
            due_at=ACCEPTANCE_DUE,
        )
    ]
    assert workflow_ready_user_tasks(_stored(state)) == [
        ReadyTask(id=accept_id, name="accept", title="受理", lane="clerk")
    ]
    state, fired = workflow_fire_due_timers(
        _stored(state), LICENSING, now=ACCEPTANCE_DUE + timedelta(days=3)
    )
    assert fired == []


def test_a_fired_timer_does_not_disturb_the_main_path() -> None:
    state, _ = workflow_fire_due_timers(
        _start(LICENSING), LICENSING, now=ACCEPTANCE_DUE + timedelta(hours=1)
    )

    state = _accept(_stored(state), LICENSING)
    state = _complete(state, LICENSING, "review", "pass")
    state = _complete(state, LICENSING, "decide", "grant")
    state = _complete(state, LICENSING, "deliver", "delivered")

    assert workflow_is_completed(state) is True
    assert workflow_data(state)["outcome"] == "delivered"


def test_a_completed_task_takes_its_timer_with_it() -> None:
    state = _accept(_start(LICENSING), LICENSING)

    state, fired = workflow_fire_due_timers(
        state, LICENSING, now=ACCEPTANCE_DUE + timedelta(days=1)
    )

    assert fired == []


def test_a_resubmission_rearms_the_acceptance_timer_with_the_new_deadline() -> None:
    state = _complete(_start(LICENSING), LICENSING, "accept", "supplement")
    state = _resubmit(state, LICENSING)

    _, fired = workflow_fire_due_timers(state, LICENSING, now=ACCEPTANCE_DUE + timedelta(days=1))
    assert fired == []
    _, fired = workflow_fire_due_timers(state, LICENSING, now=ACCEPTANCE_DUE + timedelta(days=10))
    assert [t.id for t in fired] == ["acceptance_overdue"]


def test_decision_deadline_is_reported_in_review_and_again_when_decide_waits() -> None:
    state = _accept(_start(LICENSING), LICENSING)
    late = DECISION_DUE + timedelta(days=1)

    state, fired = workflow_fire_due_timers(state, LICENSING, now=late)
    assert fired == [
        FiredTimer("review_decision_overdue", "review", "decision_due_at", DECISION_DUE)
    ]

    state = _complete(_stored(state), LICENSING, "review", "pass")
    state, fired = workflow_fire_due_timers(state, LICENSING, now=late)
    assert fired == [FiredTimer("decision_overdue", "decide", "decision_due_at", DECISION_DUE)]
    assert _ready(_stored(state)) == [("decide", "决定", "approver")]


def test_an_extended_deadline_moves_the_waiting_timer() -> None:
    state = _accept(_start(CONFIRMATION), CONFIRMATION)
    extended = DECISION_DUE + timedelta(days=14)

    state = _stored(
        workflow_set_data(state, CONFIRMATION, data={"decision_due_at": extended.isoformat()})
    )

    _, fired = workflow_fire_due_timers(state, CONFIRMATION, now=DECISION_DUE + timedelta(days=1))
    assert fired == []
    _, fired = workflow_fire_due_timers(state, CONFIRMATION, now=extended)
    assert fired == [FiredTimer("decision_overdue", "decide", "decision_due_at", extended)]
    assert workflow_data(state)["decision_due_at"] == extended.isoformat()


def test_a_deadline_of_none_never_fires() -> None:
    state = _start(CONFIRMATION, acceptance_due_at=None)

    _, fired = workflow_fire_due_timers(state, CONFIRMATION, now=datetime(2099, 1, 1, tzinfo=CST))

    assert fired == []


def test_starting_without_the_deadline_a_timer_reads_raises() -> None:
    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_start(definition=LICENSING, data={"form": {}})

    assert str(excinfo.value) == (
        'timer "acceptance_overdue" reads the deadline "acceptance_due_at", which is not in '
        "the process data"
    )


@pytest.mark.parametrize("value", ["2025-03-07T23:59:59", "next friday", 20250307])
def test_a_deadline_without_utc_offset_or_not_a_datetime_raises(value: object) -> None:
    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_start(definition=LICENSING, data={"acceptance_due_at": value})

    assert str(excinfo.value) == (
        'deadline "acceptance_due_at" must be an ISO 8601 datetime with a UTC offset, '
        f"not {value!r}"
    )


def test_firing_timers_needs_an_aware_now() -> None:
    naive = datetime(2025, 3, 8)  # noqa: DTZ001

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_fire_due_timers(_start(LICENSING), LICENSING, now=naive)

    assert str(excinfo.value) == "now must be timezone-aware"


# --- definitions: validation, caching, versions --------------------------------------


def test_process_validate_describes_the_licensing_process() -> None:
    info = process_validate(bpmn_xml=LICENSING.bpmn_xml, process_id="licensing_standard")

    assert info.process_id == "licensing_standard"
    assert info.name == "行政许可标准流程"
    assert dict(info.user_tasks) == {
        "accept": UserTaskInfo("受理", "clerk"),
        "supplement": UserTaskInfo("补正材料", "applicant"),
        "review": UserTaskInfo("审查", "reviewer"),
        "decide": UserTaskInfo("决定", "approver"),
        "deliver": UserTaskInfo("制证送达", "clerk"),
    }
    assert dict(info.timers) == {
        "acceptance_overdue": TimerInfo("accept", "acceptance_due_at"),
        "review_decision_overdue": TimerInfo("review", "decision_due_at"),
        "decision_overdue": TimerInfo("decide", "decision_due_at"),
    }
    assert info.decisions == ()


def test_process_validate_describes_the_confirmation_and_payment_processes() -> None:
    confirmation = process_validate(
        bpmn_xml=CONFIRMATION.bpmn_xml, process_id="confirmation_simple"
    )
    payment = process_validate(
        bpmn_xml=PAYMENT.bpmn_xml, process_id="payment_with_decision", dmn_xmls=[PAYMENT_DMN]
    )

    assert sorted(confirmation.user_tasks) == ["accept", "decide", "deliver", "supplement"]
    assert sorted(confirmation.timers) == ["acceptance_overdue", "decision_overdue"]
    assert sorted(payment.user_tasks) == ["accept", "decide", "deliver", "review", "supplement"]
    assert payment.user_tasks["decide"] == UserTaskInfo("给付决定", "approver")
    assert payment.decisions == ("payment_route",)


def test_a_parsed_process_is_cached_for_equal_definitions() -> None:
    first = process_validate(bpmn_xml=LICENSING.bpmn_xml, process_id="licensing_standard")
    again = process_validate(
        bpmn_xml="".join(list(LICENSING.bpmn_xml)), process_id="licensing_standard"
    )

    assert again is first


def test_an_instance_in_flight_continues_under_the_definition_it_started_with() -> None:
    v1 = LICENSING
    v2 = ProcessDefinition(
        bpmn_xml=v1.bpmn_xml.replace(
            '<bpmn:sequenceFlow id="flow_accepted" name="受理" sourceRef="accept_outcome" '
            'targetRef="review">',
            '<bpmn:userTask id="site_check" name="现场核查"/>'
            '<bpmn:sequenceFlow id="flow_checked" sourceRef="site_check" targetRef="review"/>'
            '<bpmn:sequenceFlow id="flow_accepted" name="受理" sourceRef="accept_outcome" '
            'targetRef="site_check">',
        ).replace(
            "<bpmn:flowNodeRef>review</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>review</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>site_check</bpmn:flowNodeRef>",
        ),
        process_id="licensing_standard",
    )
    assert (
        "site_check" in process_validate(bpmn_xml=v2.bpmn_xml, process_id=v2.process_id).user_tasks
    )
    started_under_v1 = _start(v1)
    before = copy.deepcopy(started_under_v1)

    with pytest.raises(WorkflowRuntimeError) as excinfo:
        workflow_complete_user_task(
            started_under_v1,
            v2,
            task_id=_task(started_under_v1, "accept").id,
            data={"outcome": "accept", "decision_due_at": None},
        )
    assert str(excinfo.value) == (
        'this workflow started under another definition of process "licensing_standard"; '
        "pass the definition of the catalogue version the application was submitted under"
    )
    assert started_under_v1 == before

    state = _accept(started_under_v1, v1)
    assert _ready(state) == [("review", "审查", "reviewer")]
    started_under_v2 = _accept(_start(v2), v2)
    assert _ready(started_under_v2) == [("site_check", "现场核查", "reviewer")]


def _process(body: str, *, lanes: dict[str, list[str]], process_id: str = "mini") -> str:
    lane_xml = "".join(
        f'<bpmn:lane id="lane_{name}" name="{name}">'
        + "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in refs)
        + "</bpmn:lane>"
        for name, refs in lanes.items()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="definitions" targetNamespace="https://yiwang.example/test">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:laneSet id="lanes">{lane_xml}</bpmn:laneSet>
    {body}
  </bpmn:process>
</bpmn:definitions>"""


ONE_STEP = """
    <bpmn:startEvent id="start"/>
    <bpmn:userTask id="{id}" name="{name}"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{id}"/>
    <bpmn:sequenceFlow id="f2" sourceRef="{id}" targetRef="end"/>
"""


def _validate(bpmn_xml: str, dmn_xmls: tuple[str, ...] = (), process_id: str = "mini") -> str:
    with pytest.raises(WorkflowDefinitionError) as excinfo:
        process_validate(bpmn_xml=bpmn_xml, process_id=process_id, dmn_xmls=dmn_xmls)
    return str(excinfo.value)


def test_process_validate_accepts_a_minimal_process() -> None:
    info = process_validate(
        bpmn_xml=_process(ONE_STEP.format(id="accept", name="受理"), lanes={"clerk": ["accept"]}),
        process_id="mini",
    )

    assert dict(info.user_tasks) == {"accept": UserTaskInfo("受理", "clerk")}


def test_process_validate_rejects_malformed_xml() -> None:
    message = _validate('<bpmn:definitions xmlns:bpmn="x"><bpmn:process>')

    assert message.startswith("BPMN is not well-formed XML: ")


def test_process_validate_rejects_a_missing_process_id() -> None:
    message = _validate(LICENSING.bpmn_xml, process_id="licensing")

    assert message == (
        'BPMN has no process with id "licensing" (processes found: "licensing_standard")'
    )


def test_process_validate_rejects_a_user_task_outside_any_lane() -> None:
    message = _validate(_process(ONE_STEP.format(id="accept", name="受理"), lanes={}))

    assert message == (
        '<userTask id="accept"> (line 10) is in no lane; user tasks belong in a lane named '
        "one of: applicant, clerk, reviewer, approver"
    )


def test_process_validate_rejects_a_lane_that_is_not_a_role() -> None:
    message = _validate(
        _process(ONE_STEP.format(id="accept", name="受理"), lanes={"boss": ["accept"]})
    )

    assert message == (
        '<userTask id="accept"> (line 10) is in lane "boss"; user tasks belong in a lane '
        "named one of: applicant, clerk, reviewer, approver"
    )


def test_process_validate_rejects_a_supplement_step_outside_the_applicant_lane() -> None:
    message = _validate(
        _process(ONE_STEP.format(id="supplement", name="补正"), lanes={"clerk": ["supplement"]})
    )

    assert message == (
        '<userTask id="supplement"> (line 10) is in lane "clerk"; step "supplement" belongs '
        'in lane "applicant"'
    )


def test_process_validate_rejects_other_steps_in_the_applicant_lane() -> None:
    message = _validate(
        _process(ONE_STEP.format(id="pay_fee", name="缴费"), lanes={"applicant": ["pay_fee"]})
    )

    assert message == (
        '<userTask id="pay_fee"> (line 10) is in lane "applicant"; the applicant\'s only step '
        'is "supplement"'
    )


def test_process_validate_rejects_a_user_task_without_a_name() -> None:
    message = _validate(
        _process(ONE_STEP.format(id="accept", name=""), lanes={"clerk": ["accept"]})
    )

    assert message == '<userTask id="accept"> (line 10) has no name: its name is the task\'s title'


def test_process_validate_rejects_a_user_task_id_that_is_not_a_step_name() -> None:
    message = _validate(
        _process(ONE_STEP.format(id="Accept-1", name="受理"), lanes={"clerk": ["Accept-1"]})
    )

    assert message == (
        'user task "Accept-1": its id is a step name in lower case letters, digits and _'
    )


def test_process_validate_rejects_a_dmn_reference_to_a_missing_decision() -> None:
    other = PAYMENT_DMN.replace('<decision id="payment_route"', '<decision id="other_route"')

    without = _validate(PAYMENT.bpmn_xml, process_id="payment_with_decision")
    wrong = _validate(PAYMENT.bpmn_xml, (other,), process_id="payment_with_decision")

    prefix = '<businessRuleTask id="route_payment"> (line 97) calls DMN decision "payment_route"'
    assert without == f"{prefix}, which no DMN document defines (decisions given: none)"
    assert wrong == f'{prefix}, which no DMN document defines (decisions given: "other_route")'


def test_process_validate_rejects_a_business_rule_task_without_a_decision() -> None:
    message = _validate(
        _process(
            ONE_STEP.format(id="accept", name="受理")
            + '<bpmn:businessRuleTask id="route" name="路由"/>',
            lanes={"clerk": ["accept"]},
        )
    )

    assert message == (
        '<businessRuleTask id="route"> (line 14) names no DMN decision: add '
        "<spiffworkflow:calledDecisionId> to its extensionElements"
    )


def test_process_validate_rejects_a_malformed_or_invalid_dmn_document() -> None:
    malformed = _validate(PAYMENT.bpmn_xml, ("<definitions>",), process_id="payment_with_decision")
    invalid = _validate(
        PAYMENT.bpmn_xml,
        (PAYMENT_DMN.replace("<text>&gt; 5000</text>", "<txt>&gt; 5000</txt>"),),
        process_id="payment_with_decision",
    )
    empty = _validate(
        PAYMENT.bpmn_xml,
        ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/"/>',),
        process_id="payment_with_decision",
    )

    assert malformed.startswith("DMN document 1 is not well-formed XML: ")
    assert invalid.startswith(
        "Element '{https://www.omg.org/spec/DMN/20191111/MODEL/}txt': This element is not expected."
    )
    assert invalid.endswith("(DMN document 1, line 45)")
    assert empty == "DMN document 1 defines no <decision>"


def test_process_validate_rejects_a_condition_that_does_not_parse() -> None:
    message = _validate(
        LICENSING.bpmn_xml.replace('outcome == "pass"', 'outcome = "pass"'),
        process_id="licensing_standard",
    )

    assert message == (
        '<sequenceFlow id="flow_passed"> (line 161): the expression \'outcome = "pass"\' '
        "does not parse: invalid syntax"
    )


def test_process_validate_rejects_a_gateway_testing_an_outcome_the_step_never_sets() -> None:
    message = _validate(
        LICENSING.bpmn_xml.replace('outcome == "grant"', 'outcome == "granted"'),
        process_id="licensing_standard",
    )

    assert message == (
        '<sequenceFlow id="flow_granted"> (line 168) tests outcome "granted", which step '
        '"decide" never sets (its outcomes: grant, deny)'
    )


@pytest.mark.parametrize(
    ("element", "advice"),
    [
        (
            '<bpmn:task id="x"/>',
            "use a userTask for a person's step or a scriptTask for an automatic one",
        ),
        (
            '<bpmn:callActivity id="x" calledElement="other"/>',
            "draw the steps in the process itself",
        ),
        (
            '<bpmn:serviceTask id="x"/>',
            "outside systems are called by the platform, not by the process",
        ),
    ],
)
def test_process_validate_rejects_elements_the_platform_cannot_run(
    element: str, advice: str
) -> None:
    message = _validate(
        _process(ONE_STEP.format(id="accept", name="受理") + element, lanes={"clerk": ["accept"]})
    )

    assert message.endswith(f"(line 14) is not supported: {advice}")


def test_process_validate_rejects_a_timer_that_does_not_name_a_deadline_variable() -> None:
    timer = """
    <bpmn:boundaryEvent id="late" attachedToRef="accept" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>"""
    message = _validate(
        _process(ONE_STEP.format(id="accept", name="受理") + timer, lanes={"clerk": ["accept"]})
    )

    assert message == (
        '<boundaryEvent id="late"> (line 15): a timer must be a <timeDate> naming the process '
        "variable that holds its due time, e.g. acceptance_due_at"
    )


def test_process_validate_rejects_bpmn_that_breaks_the_schema() -> None:
    message = _validate(
        _process(
            ONE_STEP.format(id="accept", name="受理").replace(
                '<bpmn:endEvent id="end"/>', '<bpmn:endEvent id="end" priority="high"/>'
            ),
            lanes={"clerk": ["accept"]},
        )
    )

    assert message.startswith(
        "Element '{http://www.omg.org/spec/BPMN/20100524/MODEL}endEvent', attribute "
        "'priority': The attribute 'priority' is not allowed."
    )


def test_process_validate_rejects_a_process_without_user_tasks() -> None:
    message = _validate(
        _process(
            """<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>
            <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>""",
            lanes={},
        )
    )

    assert message == (
        'process "mini" has no user task: there is nothing for staff or the applicant to do'
    )
