"""template.yml, read the way SAM reads it: the one source of truth for tests and the local stack.

Functions come with their `Globals` merged in; routes, queue mappings and schedules come from their `Events`;
`resolve` turns intrinsic functions into values given what the resources are called where they run.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yml"


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short forms (`!Ref X`, `!GetAtt X.Arn`, `!Sub ...`) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{suffix}", node.start_mark)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with path.open() as file:
        document: dict[str, Any] = yaml.load(file, Loader=_TemplateLoader)  # noqa: S506 (a SafeLoader)
    return document


@dataclass(frozen=True)
class Function:
    logical_id: str
    properties: dict[str, Any]  # with Globals merged in

    @property
    def code_uri(self) -> Path:
        return ROOT / str(self.properties["CodeUri"])

    @property
    def handler(self) -> str:
        return str(self.properties["Handler"])

    @property
    def runtime(self) -> str:
        return str(self.properties["Runtime"])

    @property
    def architecture(self) -> str:
        """`arm64` or `x86_64`: Lambda takes exactly one, and defaults to x86_64."""
        (architecture,) = self.properties.get("Architectures", ["x86_64"])
        return str(architecture)

    @property
    def timeout(self) -> int:
        return int(self.properties.get("Timeout", 3))

    @property
    def memory_size(self) -> int:
        return int(self.properties.get("MemorySize", 128))

    @property
    def environment(self) -> dict[str, Any]:
        """The function's variables, intrinsics unresolved."""
        return dict(self.properties.get("Environment", {}).get("Variables", {}))

    def events(self, event_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: event.get("Properties", {})
            for name, event in self.properties.get("Events", {}).items()
            if event["Type"] == event_type
        }


@dataclass(frozen=True)
class HttpRoute:
    function: str
    method: str
    path: str  # as the template writes it, e.g. /gigs/{id}


@dataclass(frozen=True)
class QueueMapping:
    """An `SQS` event: the event source mapping from a queue to a function."""

    function: str
    queue: str  # logical id
    batch_size: int
    batching_window_seconds: int
    report_batch_item_failures: bool
    maximum_concurrency: int | None


@dataclass(frozen=True)
class FunctionSchedule:
    """A `ScheduleV2` event (an EventBridge Scheduler schedule) or a `Schedule` event (an EventBridge rule)."""

    function: str
    name: str  # the event's name under the function's Events
    event_type: str  # "ScheduleV2" or "Schedule"
    expression: str  # rate(...), cron(...) or, for ScheduleV2, at(...)
    input: Any  # the Input as the template writes it (intrinsics unresolved); None if it has none
    enabled: bool
    properties: dict[str, Any]  # all of them, as the template writes them

    @property
    def resource_name(self) -> str:
        """The schedule's (or rule's) name: its `Name`, or the logical id SAM gives it, `<Function><Event>`."""
        return str(self.properties.get("Name") or f"{self.function}{self.name}")

    def rate(self) -> timedelta | None:
        """How often a `rate(...)` schedule runs; None for `cron(...)` and `at(...)`.

        Raises ValueError for a rate AWS would not take: a whole number above zero and minutes, hours or days
        (either form of the unit is taken here; EventBridge rules want the singular for 1 and the plural else).
        """
        if not self.expression.startswith("rate("):
            return None
        found = _RATE.fullmatch(self.expression)
        if not found or int(found["value"]) == 0:
            raise ValueError(f"{self.function}.{self.name}: not a rate AWS takes: {self.expression}")
        return timedelta(**{found["unit"] + "s": int(found["value"])})


_RATE = re.compile(r"rate\((?P<value>\d+) (?P<unit>minute|hour|day)s?\)")


class SamTemplate:
    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document if document is not None else load()

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.document["Resources"])

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def parameters(self, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Parameter values (defaults unless overridden) as `Ref` sees them: list parameters as lists."""
        values = {}
        for name, spec in self.document.get("Parameters", {}).items():
            value = (overrides or {}).get(name, spec.get("Default"))
            values[name] = str(value).split(",") if spec["Type"] == "CommaDelimitedList" else value
        return values

    def parameter_errors(self, overrides: Mapping[str, str]) -> list[str]:
        """Why CloudFormation would refuse these parameter values; empty if it would take them all."""
        errors = []
        specs = self.document.get("Parameters", {})
        for name, value in overrides.items():
            spec = specs.get(name)
            if spec is None:
                errors.append(f"{name}: the template has no such parameter ({', '.join(sorted(specs))})")
                continue
            if spec["Type"] == "Number":
                try:
                    number = float(value)
                except ValueError:
                    errors.append(f"{name}: must be a number, not {value!r}")
                    continue
                if "MinValue" in spec and number < float(spec["MinValue"]):
                    errors.append(f"{name}: must be at least {spec['MinValue']}")
                if "MaxValue" in spec and number > float(spec["MaxValue"]):
                    errors.append(f"{name}: must be at most {spec['MaxValue']}")
            if "AllowedValues" in spec and value not in [str(allowed) for allowed in spec["AllowedValues"]]:
                errors.append(f"{name}: must be one of {', '.join(map(str, spec['AllowedValues']))}")
            if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
                errors.append(f"{name}: {spec.get('ConstraintDescription', 'must match ' + spec['AllowedPattern'])}")
            if "MinLength" in spec and len(value) < int(spec["MinLength"]):
                errors.append(f"{name}: must be at least {spec['MinLength']} characters")
            if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
                errors.append(f"{name}: must be at most {spec['MaxLength']} characters")
        return errors

    @property
    def global_environment(self) -> dict[str, Any]:
        """The variables `Globals` gives every function."""
        return dict(self.document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))

    @cached_property
    def functions(self) -> dict[str, Function]:
        defaults = self.document.get("Globals", {}).get("Function", {})
        return {
            name: Function(name, _merge_globals(defaults, properties))
            for name, properties in self.of_type("AWS::Serverless::Function").items()
        }

    def http_routes(self) -> list[HttpRoute]:
        return [
            HttpRoute(function.logical_id, event["Method"].upper(), event["Path"])
            for function in self.functions.values()
            for event in function.events("HttpApi").values()
        ]

    def queue_mappings(self) -> list[QueueMapping]:
        mappings = []
        for function in self.functions.values():
            for event in function.events("SQS").values():
                queue = event["Queue"]["Fn::GetAtt"][0]
                mappings.append(
                    QueueMapping(
                        function=function.logical_id,
                        queue=queue,
                        batch_size=int(event.get("BatchSize", 10)),
                        batching_window_seconds=int(event.get("MaximumBatchingWindowInSeconds", 0)),
                        report_batch_item_failures="ReportBatchItemFailures" in event.get("FunctionResponseTypes", []),
                        maximum_concurrency=event.get("ScalingConfig", {}).get("MaximumConcurrency"),
                    )
                )
        return mappings

    def schedules(self) -> list[FunctionSchedule]:
        schedules = []
        for function in self.functions.values():
            for event_type, expression_key in (("ScheduleV2", "ScheduleExpression"), ("Schedule", "Schedule")):
                for name, event in function.events(event_type).items():
                    # `State` (ENABLED, DISABLED; a rule also has ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS),
                    # or, for a rule, `Enabled`.
                    state = str(event.get("State", "ENABLED"))
                    schedules.append(
                        FunctionSchedule(
                            function=function.logical_id,
                            name=name,
                            event_type=event_type,
                            expression=str(event[expression_key]),
                            input=event.get("Input"),
                            enabled=state.startswith("ENABLED") and event.get("Enabled", True) is not False,
                            properties=event,
                        )
                    )
        return schedules

    def http_api_cors(self) -> dict[str, Any]:
        (api,) = self.of_type("AWS::Serverless::HttpApi").values()
        cors = api.get("CorsConfiguration", {})
        if set(cors) == {"Fn::If"}:  # the whole configuration as one intrinsic, which is how SAM keeps it whole
            condition, when_true, when_false = cors["Fn::If"]
            cors = when_true if self.condition_holds(condition) else when_false
        return dict(cors) if cors != {"Ref": "AWS::NoValue"} else {}

    def condition_holds(self, name: str, overrides: Mapping[str, str] | None = None) -> bool:
        """Evaluate one of the template's Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""
        parameters = {**PSEUDO_PARAMETERS, **self.parameters(overrides)}

        def holds(expression: Mapping[str, Any]) -> bool:
            ((function, argument),) = expression.items()
            match function:
                case "Fn::Equals":
                    left, right = (resolve(side, parameters.__getitem__, _no_attributes) for side in argument)
                    return str(left) == str(right)
                case "Fn::Not":
                    return not holds(argument[0])
                case "Fn::And":
                    return all(holds(each) for each in argument)
                case "Fn::Or":
                    return any(holds(each) for each in argument)
                case "Condition":
                    return holds(self.document["Conditions"][argument])
            raise ValueError(f"condition function {function} is not supported here")

        return holds(self.document["Conditions"][name])


def _merge_globals(defaults: Any, own: Any) -> Any:
    """SAM's rule: maps merge, lists concatenate (globals first), anything else the function's own wins."""
    if isinstance(defaults, dict) and isinstance(own, dict):
        merged = dict(defaults)
        for key, value in own.items():
            merged[key] = _merge_globals(defaults[key], value) if key in defaults else value
        return merged
    if isinstance(defaults, list) and isinstance(own, list):
        return defaults + own
    return own


# Stand-ins for the pseudo parameters, where no stack exists: in conditions, and in the environment of a
# function run as Lambda runs it (tools/lambda_like.py).
PSEUDO_PARAMETERS = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::StackName": "ticket-shop",
    "AWS::URLSuffix": "amazonaws.com",
}


def _no_attributes(name: str, attribute: str) -> Any:
    raise ValueError(f"a condition cannot read {name}.{attribute}")


Ref = Callable[[str], Any]
GetAtt = Callable[[str, str], Any]


def resolve(value: Any, ref: Ref, get_att: GetAtt) -> Any:
    """Evaluate the intrinsic functions in `value`; `ref` and `get_att` say what names resolve to."""
    if isinstance(value, list):
        return [resolve(item, ref, get_att) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {key: resolve(item, ref, get_att) for key, item in value.items()}
    ((name, argument),) = value.items()
    match name:
        case "Ref":
            return ref(argument)
        case "Fn::GetAtt":
            return get_att(*argument)
        case "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else argument
            return _substitute(
                template, {key: resolve(item, ref, get_att) for key, item in variables.items()}, ref, get_att
            )
        case "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in resolve(items, ref, get_att))
        case "Fn::Split":
            separator, text = argument
            return str(resolve(text, ref, get_att)).split(separator)
        case "Fn::Select":
            index, items = argument
            return resolve(items, ref, get_att)[int(index)]
        case _:
            return {name: resolve(argument, ref, get_att)}


def _substitute(template: str, variables: Mapping[str, Any], ref: Ref, get_att: GetAtt) -> str:
    def lookup(name: str) -> str:
        if name in variables:
            return str(variables[name])
        if "." in name:
            return str(get_att(*name.split(".", 1)))
        return str(ref(name))

    out, rest = [], template
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, _, rest = after.partition("}")
        out.append(before)
        out.append("${" + name[1:] + "}" if name.startswith("!") else lookup(name))
    out.append(rest)
    return "".join(out)
