import boto3
import pytest

from tools.provision import LocalResources
from tools.sam_template import SamTemplate


@pytest.fixture(scope="session")
def template() -> SamTemplate:
    return SamTemplate()


@pytest.fixture(scope="session")
def resources(template: SamTemplate) -> LocalResources:
    """The template's names as the local stack resolves them, with nothing provisioned (no AWS needed)."""
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    return LocalResources(template, session, template.parameters())
