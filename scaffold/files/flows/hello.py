"""The hello flow.

kubectl-flows runs this file's image as a Kubernetes Job and hands the run
its parameters as JSON in FLOWS_PARAMETERS (and its names in FLOWS_RUN_NAME,
FLOWS_FLOW, FLOWS_DEPLOYMENT and FLOWS_ENTRYPOINT).
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
