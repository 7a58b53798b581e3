"""Reading template.yml the way SAM does."""

import pytest

from tools.sam_template import SamTemplate, _merge_globals, resolve

RESOURCES = {"Queue": "https://queue", "Table": "table-1"}
ATTRIBUTES = {("Queue", "Arn"): "arn:aws:sqs:eu-west-1:123456789012:queue"}


def evaluate(value: object) -> object:
    return resolve(value, RESOURCES.__getitem__, lambda name, attribute: ATTRIBUTES[name, attribute])


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ({"Ref": "Table"}, "table-1"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:queue"),
        (
            {"Fn::Sub": "${Table}/x/${Queue.Arn}/${!Literal}"},
            "table-1/x/arn:aws:sqs:eu-west-1:123456789012:queue/${Literal}",
        ),
        ({"Fn::Sub": ["${Name}@${Table}", {"Name": {"Ref": "Queue"}}]}, "https://queue@table-1"),
        ({"Fn::Join": [",", ["a", {"Ref": "Table"}]]}, "a,table-1"),
        ({"Fn::Select": [1, {"Fn::Split": ["@", "tickets@example.com"]}]}, "example.com"),
        ({"Key": {"Ref": "Table"}, "Other": [1, {"Ref": "Queue"}]}, {"Key": "table-1", "Other": [1, "https://queue"]}),
    ],
)
def test_intrinsic_functions_resolve(expression: object, value: object) -> None:
    assert evaluate(expression) == value


def test_globals_merge_as_sam_merges_them() -> None:
    defaults = {"Timeout": 10, "Environment": {"Variables": {"A": "1", "B": "1"}}, "Layers": ["g"]}
    own = {"Timeout": 30, "Environment": {"Variables": {"B": "2"}}, "Layers": ["f"]}

    assert _merge_globals(defaults, own) == {
        "Timeout": 30,
        "Environment": {"Variables": {"A": "1", "B": "2"}},
        "Layers": ["g", "f"],
    }


def test_the_short_form_intrinsics_of_the_template_are_read() -> None:
    template = SamTemplate()

    assert template.functions["PurchaseFunction"].environment["QUEUE_URL"] == {"Ref": "PurchaseQueue"}
    assert template.of_type("AWS::SQS::Queue")["PurchaseQueue"]["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["PurchaseDeadLetterQueue", "Arn"]
    }


def test_list_parameters_read_as_lists() -> None:
    template = SamTemplate({"Parameters": {"Origins": {"Type": "CommaDelimitedList", "Default": "a"}}, "Resources": {}})

    assert template.parameters({"Origins": "https://a.example.com,https://b.example.com"})["Origins"] == [
        "https://a.example.com",
        "https://b.example.com",
    ]


def test_conditions_are_evaluated_with_the_parameters() -> None:
    template = SamTemplate()

    assert template.condition_holds("HasAlarmEmail") is False
    assert template.condition_holds("HasAlarmEmail", {"AlarmEmail": "ops@example.com"}) is True
    assert template.condition_holds("CorsFromTemplate") is True


def test_the_cors_configuration_is_read_through_the_intrinsic_that_keeps_it_whole() -> None:
    cors = SamTemplate().http_api_cors()

    assert set(cors) == {"AllowOrigins", "AllowMethods", "AllowHeaders", "ExposeHeaders", "MaxAge"}


def _template_with_events(events: dict[str, object]) -> SamTemplate:
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Handler": "app.handler", "Events": events}}
    return SamTemplate({"Resources": {"Job": function}})


def test_schedules_are_read_from_schedulev2_and_schedule_events() -> None:
    # Given a function with a Scheduler schedule, a disabled one and an EventBridge rule
    template = _template_with_events(
        {
            "Nightly": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "cron(0 3 * * ? *)", "Input": "{}"}},
            "Paused": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": "rate(1 hour)", "State": "DISABLED"}},
            "Hourly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 hour)", "Name": "hourly-job"}},
            "Off": {"Type": "Schedule", "Properties": {"Schedule": "rate(2 days)", "Enabled": False}},
            "Api": {"Type": "HttpApi", "Properties": {"Method": "GET", "Path": "/"}},
        }
    )

    # When
    schedules = {schedule.name: schedule for schedule in template.schedules()}

    # Then each is read with its type, expression, input and state, and the name SAM gives it
    assert sorted(schedules) == ["Hourly", "Nightly", "Off", "Paused"]
    nightly, paused, hourly, off = (schedules[name] for name in ("Nightly", "Paused", "Hourly", "Off"))
    assert (nightly.function, nightly.event_type, nightly.expression, nightly.input) == (
        "Job",
        "ScheduleV2",
        "cron(0 3 * * ? *)",
        "{}",
    )
    assert (nightly.enabled, paused.enabled, hourly.enabled, off.enabled) == (True, False, True, False)
    assert (nightly.resource_name, hourly.resource_name) == ("JobNightly", "hourly-job")
    assert (hourly.event_type, hourly.expression, hourly.input) == ("Schedule", "rate(1 hour)", None)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("cron(0/5 * * * ? *)", None),
        ("at(2026-11-23T18:30:00)", None),
    ],
)
def test_a_rate_is_read_as_a_period_and_cron_or_at_as_none(expression: str, seconds: int | None) -> None:
    (schedule,) = _template_with_events(
        {"Tick": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": expression}}}
    ).schedules()

    rate = schedule.rate()

    assert (rate.total_seconds() if rate else None) == seconds


@pytest.mark.parametrize("expression", ["rate(0 minutes)", "rate(5 seconds)", "rate(1.5 hours)", "rate(5minutes)"])
def test_a_rate_aws_would_refuse_is_an_error(expression: str) -> None:
    (schedule,) = _template_with_events(
        {"Tick": {"Type": "ScheduleV2", "Properties": {"ScheduleExpression": expression}}}
    ).schedules()

    with pytest.raises(ValueError, match="not a rate AWS takes"):
        schedule.rate()


def test_parameter_overrides_within_the_templates_constraints_are_taken() -> None:
    template = SamTemplate()
    number = next(name for name, spec in template.document["Parameters"].items() if "MinValue" in spec)
    minimum = template.document["Parameters"][number]["MinValue"]

    assert template.parameter_errors({number: str(minimum)}) == []


@pytest.mark.parametrize(
    ("spec", "value", "error"),
    [
        ({"Type": "Number", "MinValue": 60}, "59", "must be at least 60"),
        ({"Type": "Number", "MaxValue": 10}, "11", "must be at most 10"),
        ({"Type": "Number"}, "ten", "must be a number, not 'ten'"),
        ({"Type": "Number", "AllowedValues": [1, 3, 5]}, "2", "must be one of 1, 3, 5"),
        ({"Type": "String", "AllowedPattern": "^[a-z]+$", "ConstraintDescription": "lower case"}, "A", "lower case"),
        ({"Type": "String", "MaxLength": 3}, "abcd", "must be at most 3 characters"),
    ],
)
def test_parameter_overrides_the_template_would_refuse_are_named_with_the_reason(
    spec: dict[str, object], value: str, error: str
) -> None:
    template = SamTemplate({"Parameters": {"Setting": spec}, "Resources": {}})

    assert template.parameter_errors({"Setting": value}) == [f"Setting: {error}"]


def test_an_override_of_a_parameter_the_template_does_not_have_is_refused() -> None:
    template = SamTemplate({"Parameters": {"Setting": {"Type": "String"}}, "Resources": {}})

    assert template.parameter_errors({"Settings": "x"}) == ["Settings: the template has no such parameter (Setting)"]
