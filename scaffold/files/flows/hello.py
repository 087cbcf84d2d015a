"""The hello flow.

A run of a deployment with the entrypoint flows/hello.py:hello calls
hello() with the run's parameters as keyword arguments: the Job's command is
kubectl-flows' entrypoint runner (see the Job preview in deploy/), and
`kubectl flows run --local hello/default -p name=Ford` runs the same way on
your machine. A Prefect @flow function is called the same way, so this file
needs no __main__ block. The one below is only for `python flows/hello.py`
and `docker run` of the image, reading the run's parameters from
FLOWS_PARAMETERS (JSON) as the runner does; FLOWS_RUN_NAME, FLOWS_FLOW,
FLOWS_DEPLOYMENT and FLOWS_ENTRYPOINT name the run.
"""
import json
import os


def hello(name: str = "world") -> str:
    message = f"Hello, {name}!"
    print(message, flush=True)
    return message


if __name__ == "__main__":
    params = json.loads(os.environ.get("FLOWS_PARAMETERS") or "{}")
    print(f"run {os.environ.get('FLOWS_RUN_NAME', '-')} of {os.environ.get('FLOWS_DEPLOYMENT', '-')}", flush=True)
    hello(**params)
