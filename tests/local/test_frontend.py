"""The headers the local frontend is served with: the template's CloudFront policy, plus the local API."""

from tools.local.frontend import allow_connect_to, security_headers
from tools.provision import LocalResources
from tools.sam_template import SamTemplate

API = "http://127.0.0.1:3000"


def _directives(csp: str) -> dict[str, list[str]]:
    return {words[0]: words[1:] for words in (directive.split() for directive in csp.split(";")) if words}


def test_the_content_security_policy_is_the_templates_with_the_local_api_allowed_to_connect(
    template: SamTemplate, resources: LocalResources
) -> None:
    # Given the policy CloudFront sends
    policy = template.resources["FrontendSecurityHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    csp = policy["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    on_aws = _directives(resources.resolve(csp))

    # When
    local = _directives(security_headers(template, resources, API)["Content-Security-Policy"])

    # Then the same, but for the local API in connect-src
    assert local["connect-src"] == [*on_aws["connect-src"], API]
    assert {name: sources for name, sources in local.items() if name != "connect-src"} == {
        name: sources for name, sources in on_aws.items() if name != "connect-src"
    }


def test_the_other_security_headers_are_the_templates(template: SamTemplate, resources: LocalResources) -> None:
    headers = security_headers(template, resources, API)

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_a_policy_without_connect_src_gets_one_for_the_api() -> None:
    assert allow_connect_to("default-src 'self'", API) == f"default-src 'self'; connect-src 'self' {API}"
