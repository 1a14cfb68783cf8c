#!/usr/bin/env python3
"""Converts every Sigma rule in monitoring/sigma/ with pySigma (the library
sigma-cli runs) to Microsoft Sentinel KQL (monitoring/kql/RULE.kql, Kusto
backend + pipelines/sentinel.yml) and Splunk SPL (monitoring/spl/RULE.spl,
Splunk backend + pipelines/splunk.yml).

  convert.py          write the converted files
  convert.py --check  exit 1 if a checked-in file differs (CI)
"""
import pathlib
import sys

from sigma.backends.kusto import KustoBackend
from sigma.backends.splunk import SplunkBackend
from sigma.collection import SigmaCollection
from sigma.processing.resolver import ProcessingPipelineResolver
from sigma.processing.pipeline import ProcessingPipeline

HERE = pathlib.Path(__file__).resolve().parent.parent
HEADER = "// Generated from monitoring/sigma/{rule}.yml by monitoring/tests/convert.py: do not edit.\n"
SPL_HEADER = "``` Generated from monitoring/sigma/{rule}.yml by monitoring/tests/convert.py: do not edit. ```\n"


def pipeline(name):
    return ProcessingPipeline.from_yaml((HERE / "pipelines" / name).read_text())


def outputs():
    targets = [
        ("kql", KustoBackend(pipeline("sentinel.yml")), HEADER),
        ("spl", SplunkBackend(pipeline("splunk.yml")), SPL_HEADER),
    ]
    for path in sorted((HERE / "sigma").glob("*.yml")):
        rule = path.stem
        collection = SigmaCollection.from_yaml(path.read_text())
        for ext, backend, header in targets:
            queries = backend.convert(collection)
            text = header.format(rule=rule) + "\n\n".join(queries) + "\n"
            yield HERE / ext / f"{rule}.{ext}", text


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in outputs():
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(HERE.parent)))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(HERE.parent)}")
    if stale:
        print("out of date (run monitoring/tests/convert.py):", *stale, sep="\n  ")
        sys.exit(1)
    if check:
        print("converted rules are up to date")


if __name__ == "__main__":
    main()
