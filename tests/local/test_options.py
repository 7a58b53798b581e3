"""`make dev`'s command line: what each option turns into, and what it refuses before anything starts."""

import pytest

from tools.local.__main__ import parse_args
from tools.sam_template import SamTemplate


def _a_number_parameter_with_a_minimum(template: SamTemplate) -> tuple[str, int]:
    name, spec = next((name, spec) for name, spec in template.document["Parameters"].items() if "MinValue" in spec)
    return name, int(spec["MinValue"])


def test_parameter_overrides_are_taken_as_sam_deploy_takes_them(template: SamTemplate) -> None:
    name, minimum = _a_number_parameter_with_a_minimum(template)

    options = parse_args(["--parameter-overrides", f"{name}={minimum}"])

    assert options.parameter_overrides == {name: str(minimum)}


def test_an_override_the_template_would_refuse_stops_make_dev_before_it_starts(
    template: SamTemplate, capsys: pytest.CaptureFixture[str]
) -> None:
    name, minimum = _a_number_parameter_with_a_minimum(template)

    with pytest.raises(SystemExit) as exited:
        parse_args(["--parameter-overrides", f"{name}={minimum - 1}"])

    assert exited.value.code == 2
    assert f"{name}: must be at least {minimum}" in capsys.readouterr().err


def test_a_schedule_interval_of_zero_runs_schedules_at_their_own_rate() -> None:
    assert parse_args(["--schedule-interval", "0"]).schedule_interval is None
    assert parse_args(["--schedule-interval", "5"]).schedule_interval == 5
