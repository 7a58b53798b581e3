"""The shop on your machine, from template.yml, without Docker or an AWS account (`make dev`, `make invoke`).

- `aws`: the embedded AWS, moto's server in this process, provisioned by `tools.provision`.
- `runtime` and `bootstrap`: one child process per function, in the role of Lambda's execution environment.
- `api`: the HTTP API (routes, payload v2 events, CORS) in front of the functions.
- `event_source`: the SQS event source mapping (batching, partial batch responses; the queue does redrive).
- `outbox`: every email SES sends, written as an .eml file.
- `frontend`: the static site, served with the headers CloudFront adds.
- `stack`: all of the above started and stopped together; `__main__` is its command line, `invoke` runs one event.
"""
