# kubectl-flows entrypoint runner (Python standard library only). It loads
# FLOWS_ENTRYPOINT, "path/to/file.py:function" or "package.module:function",
# and calls the function with the JSON object FLOWS_PARAMETERS as keyword
# arguments, as Prefect's worker does. A Prefect @flow is called the same way
# and runs as a Prefect flow. The file's __main__ block does not run. An
# exception prints its traceback on stderr and exits 1.
import asyncio, importlib, importlib.util, inspect, json, os, sys, traceback


def fail(msg):
    print("kubectl-flows: " + msg, file=sys.stderr, flush=True)
    sys.exit(1)


def load(entrypoint):
    where, _, attr = entrypoint.rpartition(":")
    if not where or not attr:
        fail("entrypoint %r: want path/to/file.py:function or module:function" % entrypoint)
    cwd = os.getcwd()
    if where.endswith(".py") or os.sep in where or "/" in where:
        if not os.path.isfile(where):
            fail("entrypoint %s: file %s not found in %s" % (entrypoint, where, cwd))
        parent = os.path.dirname(os.path.abspath(where))
        sys.path[:0] = [parent, cwd]
        name = os.path.splitext(os.path.basename(where))[0]
        if name in sys.modules:
            name = "__flows_entrypoint__"
        spec = importlib.util.spec_from_file_location(name, where)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    else:
        sys.path[:0] = [cwd]
        module = importlib.import_module(where)
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            defined = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)
            fail("entrypoint %s: %s has no function %r (it defines: %s)" % (entrypoint, where, attr, ", ".join(defined) or "none"))
        target = getattr(target, part)
    if not callable(target):
        fail("entrypoint %s: %s is not a function" % (entrypoint, attr))
    return target


def main():
    sys.stdout.reconfigure(line_buffering=True)
    entrypoint = os.environ.get("FLOWS_ENTRYPOINT", "")
    try:
        params = json.loads(os.environ.get("FLOWS_PARAMETERS") or "{}")
    except ValueError as e:
        fail("FLOWS_PARAMETERS is not JSON: %s" % e)
    if not isinstance(params, dict):
        fail("FLOWS_PARAMETERS must be a JSON object")
    try:
        fn = load(entrypoint)
        result = fn(**params)
        if inspect.isawaitable(result):
            asyncio.run(result)
    except SystemExit:
        raise
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
            tb = tb.tb_next  # the runner's own frames tell the user nothing
        traceback.print_exception(type(e), e, tb)
        sys.exit(1)


main()
