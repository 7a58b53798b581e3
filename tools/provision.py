"""Create the template's queues and tables in an embedded AWS (moto), named and wired as the template says.

Tests run this inside `mock_aws`; the local stack runs it against moto's server. Either way the queue
attributes, the redrive policy and the tables come from template.yml, not from a copy of it here.
"""

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from tools.catalogue import load_gigs, record_sample_tickets, seed
from tools.sam_template import Function, SamTemplate, resolve

ACCOUNT_ID = "123456789012"  # moto's account
STACK_NAME = "ticket-shop-local"


class Unresolved(KeyError):
    """A name the embedded AWS does not have (yet, or at all: CloudFront, API Gateway...)."""


@dataclass
class LocalResources:
    """What the template's names resolve to in the embedded AWS."""

    template: SamTemplate
    session: boto3.Session
    parameters: dict[str, Any]
    refs: dict[str, str] = field(default_factory=dict)
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
        for names in (pseudo, self.parameters, self.refs):
            if name in names:
                return names[name]
        raise Unresolved(name)

    def get_att(self, resource: str, attribute: str) -> str:
        try:
            return self.attributes[resource, attribute]
        except KeyError:
            raise Unresolved(f"{resource}.{attribute}") from None

    def resolve(self, value: Any) -> Any:
        return resolve(value, self.ref, self.get_att)

    def environment(self, function: Function) -> dict[str, str]:
        """The function's environment variables as the template declares them, pointing at local resources."""
        return {name: str(self.resolve(value)) for name, value in function.environment.items()}


def provision(
    template: SamTemplate,
    session: boto3.Session,
    parameter_overrides: dict[str, str] | None = None,
    sample_tickets: bool = False,
) -> LocalResources:
    """Create the template's queues and tables, verify the sender identity and seed the catalogue.

    `sample_tickets` also records the tickets the sample worker events confirm (see tools/catalogue.py).
    """
    resources = LocalResources(template, session, template.parameters(parameter_overrides))
    _create_queues(resources)
    _create_tables(resources)
    session.client("sesv2").create_email_identity(EmailIdentity=resources.parameters["SenderEmail"])
    dynamodb = session.resource("dynamodb")
    gigs = dynamodb.Table(resources.ref("GigsTable"))
    seed(gigs, load_gigs())
    if sample_tickets:
        record_sample_tickets(dynamodb.Table(resources.ref("TicketsTable")), gigs)
    return resources


def _create_queues(resources: LocalResources) -> None:
    sqs = resources.session.client("sqs")
    pending = resources.template.of_type("AWS::SQS::Queue")
    while pending:
        for name, properties in list(pending.items()):
            try:
                attributes: dict[Any, str] = {
                    key: _attribute(resources.resolve(value))
                    for key, value in properties.items()
                    if key not in {"QueueName", "Tags"}
                }
            except Unresolved:
                continue  # its dead-letter queue comes first
            url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            resources.refs[name] = url
            resources.attributes.update({(name, "Arn"): arn, (name, "QueueName"): name, (name, "QueueUrl"): url})
            del pending[name]
            break
        else:
            raise Unresolved(f"queues reference something that is never created: {sorted(pending)}")


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _create_tables(resources: LocalResources) -> None:
    dynamodb = resources.session.client("dynamodb")
    for name, properties in resources.template.of_type("AWS::DynamoDB::Table").items():
        indexes = (
            {"GlobalSecondaryIndexes": properties["GlobalSecondaryIndexes"]}
            if "GlobalSecondaryIndexes" in properties
            else {}
        )
        table = dynamodb.create_table(
            TableName=name,
            KeySchema=properties["KeySchema"],
            AttributeDefinitions=properties["AttributeDefinitions"],
            BillingMode=properties.get("BillingMode", "PROVISIONED"),
            **indexes,
        )["TableDescription"]
        if ttl := properties.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        resources.refs[name] = name
        resources.attributes.update({(name, "Arn"): table["TableArn"]})
