"""template.yml: lint-clean, and the invariants the reliability of the shop rests on.

The invariants are checked on the CloudFormation that SAM's own translator produces, so they hold for
what `sam deploy` creates, not only for what the template says.
"""

import dataclasses
import os
import subprocess
from functools import cache
from typing import Any

import boto3
import pytest
from botocore.config import Config
from pydantic import BaseModel
from samtranslator.translator.transform import transform

from gigs.settings import Settings as GigsSettings
from purchase.settings import LedgerSettings
from purchase.settings import Settings as PurchaseSettings
from tests.conftest import TEMPLATE
from tickets.settings import Settings as TicketsSettings
from tools.sam_template import ROOT, load
from worker.settings import Settings as WorkerSettings

GLOBAL_VARIABLES = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL"}


class _NoManagedPolicyLookup:
    def load(self) -> dict[str, str]:
        return {}


@cache
def cloudformation() -> dict[str, Any]:
    """The template as `sam deploy` hands it to CloudFormation."""
    document = load()
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://artifacts/function.zip"  # what `sam package` writes
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    transformed: dict[str, Any] = transform(document, {}, _NoManagedPolicyLookup())
    return transformed


def resource(name: str) -> dict[str, Any]:
    properties: dict[str, Any] = cloudformation()["Resources"][name]["Properties"]
    return properties


def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: r.get("Properties", {}) for name, r in cloudformation()["Resources"].items() if r["Type"] == resource_type
    }


def inline_statements(role: str) -> list[dict[str, Any]]:
    return [statement for policy in resource(role)["Policies"] for statement in policy["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_sam_validate_lint_is_clean() -> None:
    result = subprocess.run(
        [ROOT / ".venv" / "bin" / "sam", "validate", "--lint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_the_queue_redrives_to_the_dlq_after_about_five_receives() -> None:
    redrive = resource("PurchaseQueue")["RedrivePolicy"]

    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["PurchaseDeadLetterQueue", "Arn"]}
    assert 3 <= redrive["maxReceiveCount"] <= 10


def test_the_visibility_timeout_is_at_least_six_times_the_worker_timeout() -> None:
    assert resource("PurchaseQueue")["VisibilityTimeout"] >= 6 * resource("WorkerFunction")["Timeout"]


def test_the_dlq_keeps_messages_fourteen_days_and_both_queues_are_encrypted() -> None:
    assert resource("PurchaseDeadLetterQueue")["MessageRetentionPeriod"] == 14 * 24 * 3600
    for queue in of_type("AWS::SQS::Queue").values():
        assert queue.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue


def test_the_worker_mapping_reports_partial_failures_in_small_capped_batches() -> None:
    (mapping,) = of_type("AWS::Lambda::EventSourceMapping").values()

    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["PurchaseQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "WorkerFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == 10
    assert 0 < mapping["MaximumBatchingWindowInSeconds"] <= 5
    assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 10


def grants(role: str) -> set[tuple[str, str]]:
    """Every (action, resource) pair the role's inline policies allow."""
    return {
        (action, str(resource))
        for statement in inline_statements(role)
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    }


def table_arn(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


def table(name: str) -> str:
    return str(table_arn(name))


def test_the_purchase_may_sell_seats_and_record_tickets_and_nothing_broader() -> None:
    assert grants("PurchaseFunctionRole") == {
        ("sqs:SendMessage*", str(_queue_arn("PurchaseQueue"))),
        ("dynamodb:GetItem", table("GigsTable")),
        ("dynamodb:UpdateItem", table("GigsTable")),
        ("dynamodb:PutItem", table("TicketsTable")),
        ("dynamodb:UpdateItem", table("TicketsTable")),
        ("dynamodb:GetItem", table("TicketsTable")),
        *{
            (f"dynamodb:{action}", table("IdempotencyTable"))
            for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem")
        },
    }


@pytest.mark.parametrize("function", ["PurchaseFunction", "WorkerFunction"])
def test_each_function_touches_only_its_own_idempotency_records(function: str) -> None:
    from purchase.app import IDEMPOTENCY_RECORDS as PURCHASE_RECORDS
    from worker.delivery import IDEMPOTENCY_RECORDS as WORKER_RECORDS

    prefix = {"PurchaseFunction": PURCHASE_RECORDS, "WorkerFunction": WORKER_RECORDS}[function]
    statements = inline_statements(f"{function}Role")
    (records,) = [s for s in statements if s["Resource"] == table_arn("IdempotencyTable")]

    assert records["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}#*"]}}


def test_the_purchase_reads_idempotency_keys_in_the_ledger_and_no_ticket() -> None:
    from purchase.adapters import TicketLedger

    statements = inline_statements("PurchaseFunctionRole")
    (read,) = [s for s in statements if (s["Action"], s["Resource"]) == ("dynamodb:GetItem", table_arn("TicketsTable"))]

    assert read["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{TicketLedger.KEY_PREFIX}*"]}}


def as_built(config: Config) -> dict[str, Any]:
    """A client's settings as botocore builds them from `config` and its defaults."""
    built: dict[str, Any] = vars(boto3.client("dynamodb", region_name="eu-west-1", config=config).meta.config)
    return built


def slowest_call(config: Config) -> float:
    """A call at its slowest, as botocore runs `config`: every attempt timing out, and the standard retry mode's
    backoff (at most 1, 2, 4... s) before each retry."""
    built = as_built(config)
    attempts = built["retries"]["total_max_attempts"]  # botocore's own reading of max_attempts or total_max_attempts
    return float(attempts * (built["connect_timeout"] + built["read_timeout"]) + sum(2**n for n in range(attempts - 1)))


def test_the_purchase_s_call_budget_is_what_botocore_makes_of_its_client_config() -> None:
    from purchase.adapters import CALL_SECONDS, CLIENT_CONFIG

    assert slowest_call(CLIENT_CONFIG) == CALL_SECONDS


def test_the_purchase_has_time_to_give_a_seat_back_and_answers_before_the_api_gives_up() -> None:
    from purchase.adapters import CALL_SECONDS

    timeout = resource("PurchaseFunction")["Timeout"]

    # Its Deadline takes a seat only with three calls' time left, and one more with an Idempotency-Key
    # (Powertools' record of the order, deleted or saved after ours); a fifth for the reads before.
    assert 5 * CALL_SECONDS <= timeout < 30  # the HTTP API's integration timeout


def test_the_worker_s_budgets_are_what_botocore_makes_of_its_client_configs() -> None:
    from worker.adapters import CALL_SECONDS, CLIENT_CONFIG, SEND_SECONDS, SES_CONFIG

    assert slowest_call(CLIENT_CONFIG) == CALL_SECONDS
    # One SES attempt at its slowest (botocore makes no other), then the ledger's CONFIRMED at its slowest.
    assert slowest_call(SES_CONFIG) + CALL_SECONDS == SEND_SECONDS


def test_the_worker_still_sends_after_a_slow_first_call() -> None:
    from worker.adapters import CLIENT_CONFIG, SEND_SECONDS

    # Before the send: Powertools' in-progress mark and the ledger's claim. One of them timing out once and
    # retried after the first backoff still leaves the send its time; slower than that, the record fails
    # unsent and SQS delivers it again.
    one_slow_attempt = as_built(CLIENT_CONFIG)["connect_timeout"] + as_built(CLIENT_CONFIG)["read_timeout"] + 1
    assert SEND_SECONDS + one_slow_attempt <= resource("WorkerFunction")["Timeout"]


@pytest.mark.parametrize("function", ["GigsFunction", "TicketsFunction", "WorkerFunction"])
def test_a_call_at_its_slowest_ends_well_before_the_function_times_out(function: str) -> None:
    from gigs.catalogue import CLIENT_CONFIG as GIGS_CONFIG
    from tickets.adapters import CLIENT_CONFIG as TICKETS_CONFIG
    from worker.adapters import CLIENT_CONFIG as WORKER_CONFIG

    config = {"GigsFunction": GIGS_CONFIG, "TicketsFunction": TICKETS_CONFIG, "WorkerFunction": WORKER_CONFIG}[function]

    assert slowest_call(config) <= resource(function)["Timeout"] / 2


def test_the_reconciler_reads_the_unsettled_index_and_requeues_and_nothing_broader() -> None:
    assert grants("ReconcilerFunctionRole") == {
        ("sqs:SendMessage*", str(_queue_arn("PurchaseQueue"))),
        ("dynamodb:Scan", str({"Fn::Sub": "${TicketsTable.Arn}/index/UnsettledTickets"})),
        ("dynamodb:GetItem", table("TicketsTable")),
        ("dynamodb:UpdateItem", table("TicketsTable")),
        ("dynamodb:GetItem", table("GigsTable")),
    }


def test_the_tickets_function_reads_one_ticket_s_public_attributes_only() -> None:
    (statement,) = inline_statements("TicketsFunctionRole")

    assert (statement["Action"], statement["Resource"]) == ("dynamodb:GetItem", {"Fn::GetAtt": ["TicketsTable", "Arn"]})
    attributes = statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert set(attributes) == {"id", "gigId", "status", "createdAt", "maskedEmail"}
    assert statement["Condition"]["StringEqualsIfExists"]["dynamodb:Select"] == "SPECIFIC_ATTRIBUTES"


def test_the_ticket_lookup_asks_for_exactly_the_attributes_its_policy_allows() -> None:
    from tickets.adapters import ATTRIBUTES

    (statement,) = inline_statements("TicketsFunctionRole")
    assert set(ATTRIBUTES) == set(statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"])


def test_the_worker_may_only_update_tickets_in_the_ledger() -> None:
    ledger = {action for action, resource in grants("WorkerFunctionRole") if resource == table("TicketsTable")}

    assert ledger == {"dynamodb:UpdateItem"}


def test_the_ledger_is_kept_recoverable_encrypted_and_forgets_buyers_after_the_show() -> None:
    tickets = cloudformation()["Resources"]["TicketsTable"]
    properties = tickets["Properties"]

    assert (tickets["DeletionPolicy"], tickets["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    assert cloudformation()["Parameters"]["TicketRetentionDays"]["Default"] == 90


def test_the_reconciler_runs_on_a_schedule_every_few_minutes() -> None:
    (schedule,) = of_type("AWS::Scheduler::Schedule").values()

    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    assert schedule["Target"]["Arn"] == {"Fn::GetAtt": ["ReconcilerFunction", "Arn"]}


def test_the_gigs_function_only_reads_the_gigs_table() -> None:
    (statement,) = inline_statements("GigsFunctionRole")

    assert sorted(statement["Action"]) == ["dynamodb:GetItem", "dynamodb:Scan"]
    assert statement["Resource"] == {"Fn::GetAtt": ["GigsTable", "Arn"]}


def test_the_worker_may_send_email_only_as_the_sender() -> None:
    statements = inline_statements("WorkerFunctionRole")
    (ses,) = [s for s in statements if s["Action"] == "ses:SendEmail"]

    assert ses["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "SenderEmail"}}}
    assert all("identity/" in str(arn) for arn in ses["Resource"])
    dynamodb = next(s for s in statements if s["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]})
    assert not {"dynamodb:Scan", "dynamodb:Query", "dynamodb:*"} & set(dynamodb["Action"])
    sqs = next(s for s in statements if "sqs:SendMessage" in as_list(s["Action"]))
    assert sqs["Resource"] == {"Fn::GetAtt": ["PurchaseDeadLetterQueue", "Arn"]}


def test_the_worker_polls_purchase_queue_alone_and_writes_only_its_own_logs() -> None:
    role = resource("WorkerFunctionRole")
    granted = grants("WorkerFunctionRole")
    queues = {resource for action, resource in granted if action.startswith("sqs:")}
    logs = {resource for action, resource in granted if action.startswith("logs:")}
    polling = {action for action, resource in granted if resource == str({"Fn::GetAtt": ["PurchaseQueue", "Arn"]})}

    # SAM's role for an SQS event would add AWSLambdaSQSQueueExecutionRole: every queue in the account.
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AWSXrayWriteOnlyAccess"}]
    assert resource("WorkerFunction")["Role"] == {"Fn::GetAtt": ["WorkerFunctionRole", "Arn"]}
    assert queues == {str({"Fn::GetAtt": [queue, "Arn"]}) for queue in ("PurchaseQueue", "PurchaseDeadLetterQueue")}
    assert polling >= {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
    assert logs == {str({"Fn::GetAtt": ["WorkerFunctionLogGroup", "Arn"]})}
    assert resource("WorkerFunction")["LoggingConfig"]["LogGroup"] == {"Ref": "WorkerFunctionLogGroup"}


def test_no_inline_policy_grants_a_wildcard() -> None:
    for role in of_type("AWS::IAM::Role"):
        for statement in inline_statements(role):
            assert statement["Resource"] != "*", role
            assert not any(action == "*" or action.endswith(":*") for action in as_list(statement["Action"])), role


def _queue_arn(queue: str) -> dict[str, Any]:
    return {
        "Fn::Sub": [
            "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}",
            {"queueName": {"Fn::GetAtt": [queue, "QueueName"]}},
        ]
    }


def variables_read_by(settings: type) -> set[str]:
    """The environment variables a settings class reads: pydantic fields' aliases, or dataclass fields' `env`."""
    if issubclass(settings, BaseModel):
        return {str(field.alias) for field in settings.model_fields.values()}
    assert dataclasses.is_dataclass(settings), settings
    return {field.metadata["env"] for field in dataclasses.fields(settings)}


@pytest.mark.parametrize(
    ("function", "settings"),
    [
        ("GigsFunction", GigsSettings),
        ("PurchaseFunction", PurchaseSettings),
        ("ReconcilerFunction", LedgerSettings),
        ("TicketsFunction", TicketsSettings),
        ("WorkerFunction", WorkerSettings),
    ],
)
def test_each_function_gets_exactly_the_variables_its_settings_read(function: str, settings: type) -> None:
    variables = resource(function)["Environment"]["Variables"]

    assert set(variables) - GLOBAL_VARIABLES == variables_read_by(settings)
    assert set(variables) >= GLOBAL_VARIABLES


def test_variables_point_at_the_resources_they_name() -> None:
    assert resource("PurchaseFunction")["Environment"]["Variables"]["QUEUE_URL"] == {"Ref": "PurchaseQueue"}
    assert resource("PurchaseFunction")["Environment"]["Variables"]["GIGS_TABLE_NAME"] == {"Ref": "GigsTable"}
    assert resource("GigsFunction")["Environment"]["Variables"]["GIGS_TABLE_NAME"] == {"Ref": "GigsTable"}
    for function in ("PurchaseFunction", "ReconcilerFunction", "TicketsFunction", "WorkerFunction"):
        assert resource(function)["Environment"]["Variables"]["TICKETS_TABLE_NAME"] == {"Ref": "TicketsTable"}
    worker = resource("WorkerFunction")["Environment"]["Variables"]
    assert worker["SENDER_EMAIL"] == {"Ref": "SenderEmail"}
    assert worker["IDEMPOTENCY_TABLE_NAME"] == {"Ref": "IdempotencyTable"}
    assert worker["DEAD_LETTER_QUEUE_URL"] == {"Ref": "PurchaseDeadLetterQueue"}


def test_every_function_runs_python_313_on_arm64_with_tracing() -> None:
    for function in of_type("AWS::Lambda::Function").values():
        assert (function["Runtime"], function["Architectures"], function["TracingConfig"]) == (
            "python3.13",
            ["arm64"],
            {"Mode": "Active"},
        )


def test_the_api_routes_are_the_shop_s() -> None:
    paths = resource("ShopApi")["Body"]["paths"]

    assert {(path, method) for path, methods in paths.items() for method in methods} == {
        ("/gigs", "get"),
        ("/gigs/{id}", "get"),
        ("/purchase", "post"),
        ("/tickets/{ticketId}", "get"),
    }


def test_cors_reaches_the_deployed_api_whole_for_the_frontend() -> None:
    # As SAM writes it for API Gateway: every setting, not only the origins (an intrinsic AllowOrigins alone
    # would become the whole configuration).
    condition, cors, otherwise = resource("ShopApi")["Body"]["x-amazon-apigateway-cors"]["Fn::If"]

    assert (condition, otherwise) == ("CorsFromTemplate", {"Ref": "AWS::NoValue"})
    assert TEMPLATE.condition_holds(condition)
    # SAM writes the parameter's text in (here its default): one string, split into origins by CloudFormation.
    origins = f"{TEMPLATE.parameters()['AllowedOrigins']},https://${{FrontendDistribution.DomainName}}"
    assert cors["allowOrigins"] == {"Fn::Split": [",", {"Fn::Sub": origins}]}
    assert set(cors["allowMethods"]) == {"GET", "POST", "OPTIONS"}
    assert cors["allowHeaders"] == ["content-type", "idempotency-key"]
    assert cors["exposeHeaders"] == ["retry-after"]
    assert cors["maxAge"] == 600


def test_the_api_is_throttled_and_logs_access_to_a_log_group_with_retention() -> None:
    stage = next(iter(of_type("AWS::ApiGatewayV2::Stage").values()))

    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert resource("ApiAccessLogGroup")["RetentionInDays"] == {"Ref": "LogRetentionInDays"}


def alarm_metrics(name: str) -> list[dict[str, Any]]:
    """The metrics a metric-math alarm reads (each with its Id), its expression left out."""
    return [query for query in resource(name)["Metrics"] if "MetricStat" in query]


def test_every_alarm_tells_the_alarm_topic_when_it_fires_and_when_it_clears() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")

    assert len(alarms) >= 5
    for name, alarm in alarms.items():
        assert (alarm["AlarmActions"], alarm["OKActions"]) == ([{"Ref": "AlarmTopic"}], [{"Ref": "AlarmTopic"}]), name
        assert alarm["TreatMissingData"] == "notBreaching", name


def test_an_error_in_any_function_raises_the_functions_alarm() -> None:
    (expression,) = [query for query in resource("FunctionErrorsAlarm")["Metrics"] if "Expression" in query]
    watched = {
        query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]: query["Id"]
        for query in alarm_metrics("FunctionErrorsAlarm")
        if query["MetricStat"]["Metric"]["MetricName"] == "Errors"
    }

    assert set(watched) == set(of_type("AWS::Lambda::Function"))
    # The alarm reads one series: the expression's (a query leaving ReturnData out returns its data too).
    assert [query["Id"] for query in resource("FunctionErrorsAlarm")["Metrics"] if query["ReturnData"]] == ["failures"]
    assert expression["Expression"].replace(" ", "").split("+") == [f"FILL({i},0)" for i in watched.values()]


def test_the_reconciler_s_alarm_reads_the_metrics_its_function_emits() -> None:
    from purchase.reconciler import TICKETS_NOT_REQUEUED, TICKETS_ORPHANED

    variables = load()["Globals"]["Function"]["Environment"]["Variables"]
    metrics = [query["MetricStat"]["Metric"] for query in alarm_metrics("TicketsNeedAttentionAlarm")]

    assert {metric["MetricName"] for metric in metrics} == {TICKETS_NOT_REQUEUED, TICKETS_ORPHANED}
    for metric in metrics:
        assert metric["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
        assert metric["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]


def test_confirmations_left_waiting_on_the_queue_raise_an_alarm() -> None:
    alarm = resource("ConfirmationsStuckAlarm")

    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateAgeOfOldestMessage")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["PurchaseQueue", "QueueName"]}}]
    # Longer than the worker's redeliveries take to reach the DLQ would be too late to hear of it.
    assert alarm["Threshold"] <= resource("PurchaseQueue")["VisibilityTimeout"] * 5


def test_buyers_getting_server_errors_raise_an_alarm() -> None:
    alarm = resource("ApiServerErrorsAlarm")

    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/ApiGateway", "5xx")
    assert alarm["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "ShopApi"}}]


def test_schedules_are_named_by_cloudformation_so_two_stacks_can_share_a_region() -> None:
    schedules = of_type("AWS::Scheduler::Schedule")

    assert schedules
    assert all("Name" not in schedule for schedule in schedules.values())


@pytest.mark.parametrize(
    ("resource_type", "config"),
    [
        ("AWS::CloudFront::OriginAccessControl", "OriginAccessControlConfig"),
        ("AWS::CloudFront::ResponseHeadersPolicy", "ResponseHeadersPolicyConfig"),
    ],
)
def test_cloudfront_names_are_unique_per_stack_and_short_whatever_the_stack_s_name(
    resource_type: str, config: str
) -> None:
    # CloudFront names are per account (not region) and an origin access control's is at most 64 characters.
    (named,) = of_type(resource_type).values()
    template, variables = named[config]["Name"]["Fn::Sub"]

    assert variables == {"StackUuid": {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}}
    assert "${AWS::StackName}" not in template
    assert len(template.replace("${StackUuid}", "0" * 36)) <= 64


def test_a_failed_reconciler_run_is_not_run_again_by_lambda() -> None:
    (config,) = of_type("AWS::Lambda::EventInvokeConfig").values()

    assert config["FunctionName"] == {"Ref": "ReconcilerFunction"}
    assert config["MaximumRetryAttempts"] == 0


def test_an_alarm_notifies_the_topic_when_the_dlq_is_not_empty() -> None:
    alarm = resource("DeadLetterAlarm")

    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["PurchaseDeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_the_frontend_bucket_is_private_and_read_only_by_the_distribution_over_https() -> None:
    bucket = resource("FrontendBucket")
    distribution = resource("FrontendDistribution")["DistributionConfig"]
    (allow,) = [s for s in resource("FrontendBucketPolicy")["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]

    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert distribution["Origins"][0]["OriginAccessControlId"] == {"Fn::GetAtt": ["FrontendOriginAccessControl", "Id"]}
    assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "https-only"
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert "AWS:SourceArn" in allow["Condition"]["StringEquals"]


def test_outputs_give_what_a_deployer_needs() -> None:
    assert {
        "ApiUrl",
        "FrontendUrl",
        "PurchaseQueueUrl",
        "PurchaseDeadLetterQueueUrl",
        "GigsTableName",
        "TicketsTableName",
        "FrontendBucketName",
        "FrontendDistributionId",
    } <= set(cloudformation()["Outputs"])


def test_every_scanner_skip_says_why() -> None:
    for name, spec in TEMPLATE.resources.items():
        for skip in spec.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_"), name
            assert len(skip["comment"]) > 20, name
