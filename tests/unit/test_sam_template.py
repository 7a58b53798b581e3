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
    assert SamTemplate().parameters({"AllowedOrigins": "https://a.example.com,https://b.example.com"})[
        "AllowedOrigins"
    ] == [
        "https://a.example.com",
        "https://b.example.com",
    ]
