"""template.yml, read the way SAM reads it: the one source of truth for tests and the local stack.

Functions come with their `Globals` merged in; routes and queue mappings come from their `Events`;
`resolve` turns intrinsic functions into values given what the resources are called where they run.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
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

    def http_api_cors(self) -> dict[str, Any]:
        (api,) = self.of_type("AWS::Serverless::HttpApi").values()
        return dict(api.get("CorsConfiguration", {}))


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
