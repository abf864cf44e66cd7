#!/usr/bin/env python3
"""cli.schemas: real reports of the built procctx validate against the JSON
Schemas in docs/schemas/ (draft 2020-12, python3-jsonschema from Debian).

    schemas_test.py PROCCTX SCHEMA_DIR

procctx run --json for a run that succeeds with its output relayed, one whose
output goes to a terminal, one that times out, one whose command does not
exist and one whose argv holds bytes that are not UTF-8; procctx batch
--joblog and --summary-json for shell lines with successes, failures, a
timeout and a retry, and for JSON lines with an id of their own, a command
that cannot start and a shard. Each scenario is also checked to have
happened, so that a vacuous schema or report cannot pass; and each schema is
checked to require the fields docs/json.md documents and to reject a report
that lacks one."""

import json
import os
import pty
import subprocess
import sys
import tempfile
import unittest

try:
    import jsonschema
except ImportError:
    sys.exit("FAIL: python3-jsonschema is missing (scripts/deps.sh test installs it)")

PROCCTX, SCHEMA_DIR = sys.argv[1], sys.argv[2]
del sys.argv[1:3]

# The fields docs/json.md documents, which every report must carry.
DOCUMENTED = {
    "procctx.run/1": ["schema", "argv", "start", "end", "exit_code", "error", "received_signal", "pid", "status",
                      "output", "pipe_holders"],
    "procctx.joblog/1": ["schema", "id", "seq", "command", "argv", "start", "runtime", "exit_code", "signal", "stop",
                         "attempt", "final", "user_cpu", "sys_cpu", "max_rss_kib", "stdout_bytes", "stderr_bytes",
                         "slot", "shard", "host"],
    "procctx.batch-summary/1": ["schema", "total", "succeeded", "failed", "not_started", "retried", "started_at",
                                "wall_seconds", "parallel", "halted", "shard", "exit_code"],
}
FILES = {"procctx.run/1": "procctx.run-1.schema.json", "procctx.joblog/1": "procctx.joblog-1.schema.json",
         "procctx.batch-summary/1": "procctx.batch-summary-1.schema.json"}


def validator(name):
    with open(os.path.join(SCHEMA_DIR, FILES[name]), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


VALIDATORS = {name: validator(name) for name in FILES}

# No scheduler or CI index variables: they would shard the batches.
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TMPDIR": tempfile.gettempdir()}


def strict_json(data):
    """Parses bytes that must be UTF-8 (a report never holds anything else)."""
    return json.loads(data.decode("utf-8", errors="strict"))


class SchemaTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="procctx-schemas.")
        self.addCleanup(self.dir.cleanup)

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def assert_valid(self, name, doc):
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATORS[name].iter_errors(doc)]
        self.assertEqual(errors, [], f"{name} does not validate:\n{json.dumps(doc, indent=1)}")

    def run_report(self, argv, expect_code, **kwargs):
        """procctx run --json -- ARGV: the report, validated; stdout and stderr captured (relayed) by default."""
        report = self.path("run.json")
        args = [PROCCTX.encode(), b"run", b"--json", report.encode(), *kwargs.pop("options", []), b"--", *argv]
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        done = subprocess.run(args, env=ENV, timeout=120, check=False, **kwargs)
        self.assertEqual(done.returncode, expect_code, done.stderr)
        with open(report, "rb") as f:
            doc = strict_json(f.read())
        self.assert_valid("procctx.run/1", doc)
        return doc, done

    def batch(self, jobs, *options):
        """procctx batch over JOBS (bytes): the job log lines and the summary, each validated."""
        with open(self.path("jobs"), "wb") as f:
            f.write(jobs)
        log, summary = self.path("joblog.jsonl"), self.path("summary.json")
        subprocess.run([PROCCTX, "batch", "--joblog", log, "--summary-json", summary, *options, self.path("jobs")],
                       env=ENV, cwd=self.dir.name, timeout=120, check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        with open(log, "rb") as f:
            lines = [strict_json(line) for line in f.read().splitlines()]
        for line in lines:
            self.assert_valid("procctx.joblog/1", line)
        with open(summary, "rb") as f:
            totals = strict_json(f.read())
        self.assert_valid("procctx.batch-summary/1", totals)
        return lines, totals

    def test_a_successful_run_with_its_output_relayed(self):
        doc, done = self.run_report([b"sh", b"-c", b"echo out; echo err >&2"], 0)
        self.assertEqual(done.stdout, b"out\n")
        self.assertEqual(doc["status"]["kind"], "exited")
        self.assertEqual(doc["stop"]["reason"], "none")
        self.assertEqual(doc["output"]["stdout"], {"relayed": True, "bytes": 4, "written": 4, "error": None})
        self.assertEqual(doc["output"]["stderr"]["bytes"], 4)

    def test_a_run_whose_output_goes_to_a_terminal(self):
        leader, follower = pty.openpty()
        try:
            doc, _ = self.run_report([b"true"], 0, stdout=follower, stderr=follower)
        finally:
            os.close(follower)
            os.close(leader)
        self.assertEqual(doc["output"]["stdout"]["relayed"], False)
        self.assertEqual(doc["output"]["stdout"]["why"], "terminal")

    def test_a_timed_out_run(self):
        doc, _ = self.run_report([b"sleep", b"30"], 124, options=[b"--timeout", b"200ms"])
        self.assertEqual(doc["stop"]["reason"], "deadline")
        self.assertEqual(doc["status"]["signal"], "SIGTERM")
        self.assertEqual(doc["stop"]["signals"][0]["signal"], "SIGTERM")

    def test_a_run_whose_command_could_not_start(self):
        doc, _ = self.run_report([b"/nonexistent/procctx-schema-test"], 127)
        self.assertEqual(doc["status"]["kind"], "not_started")
        self.assertIsNone(doc["pid"])
        self.assertIn("No such file or directory", doc["error"])

    def test_argv_bytes_that_are_not_utf8_become_replacement_characters(self):
        doc, done = self.run_report([b"printf", b"%s", b"caf\xe9 \xff\xfe"], 0)
        self.assertEqual(done.stdout, b"caf\xe9 \xff\xfe")  # the command's own output is never altered
        self.assertEqual(doc["argv"][2], "caf\ufffd \ufffd\ufffd")

    def test_a_batch_with_successes_failures_a_timeout_and_a_retry(self):
        jobs = b"true\nexit 3\nsleep 30\ntest -e once || { touch once; exit 4; }\necho \xff\n"
        lines, totals = self.batch(jobs, "-j2", "--timeout", "300ms", "--retries", "1", "--retry-on", "4,timeout")
        by_seq = {}
        for line in lines:
            by_seq.setdefault(line["seq"], []).append(line)
        self.assertEqual([a["exit_code"] for a in by_seq[1]], [0])
        self.assertEqual([a["exit_code"] for a in by_seq[2]], [3])  # not in --retry-on: no retry
        self.assertEqual([(a["stop"], a["signal"]) for a in by_seq[3]], [("timeout", "SIGTERM")] * 2)
        self.assertEqual([(a["attempt"], a["final"], a["exit_code"]) for a in by_seq[4]], [(1, False, 4), (2, True, 0)])
        self.assertEqual(by_seq[5][0]["command"], "echo \ufffd")
        self.assertEqual((totals["total"], totals["succeeded"], totals["failed"], totals["retried"]), (5, 3, 2, 2))

    def test_a_batch_of_json_lines_with_ids_a_start_failure_and_a_shard(self):
        jobs = b"".join(json.dumps(j).encode() + b"\n" for j in [
            {"id": "first", "argv": ["true"]},
            {"id": "missing", "argv": ["/nonexistent/procctx-schema-test"]},
            {"id": "third", "argv": ["sh", "-c", "exit 2"]},
        ])
        lines, totals = self.batch(jobs, "--jsonl", "--shard", "0/1")
        by_id = {line["id"]: line for line in lines}
        self.assertEqual(set(by_id), {"first", "missing", "third"})
        self.assertEqual((by_id["missing"]["stop"], by_id["missing"]["exit_code"]), ("start_failed", 127))
        self.assertEqual(by_id["third"]["exit_code"], 2)
        self.assertEqual({line["shard"] for line in lines}, {"0/1"})
        self.assertEqual(totals["shard"], "0/1")

    def test_the_schemas_require_the_documented_fields(self):
        for name, fields in DOCUMENTED.items():
            schema = VALIDATORS[name].schema
            self.assertEqual(schema["title"], name)
            self.assertTrue(schema["$id"].endswith(name), schema["$id"])
            self.assertEqual(sorted(set(fields) - set(schema["required"])), [], name)

    def test_a_report_lacking_a_field_or_with_a_wrong_type_is_rejected(self):
        doc, _ = self.run_report([b"true"], 0)
        for field in DOCUMENTED["procctx.run/1"] + ["stop", "rusage", "tree"]:
            broken = dict(doc)
            del broken[field]
            self.assertFalse(VALIDATORS["procctx.run/1"].is_valid(broken), f"valid without {field}")
        self.assertFalse(VALIDATORS["procctx.run/1"].is_valid({**doc, "exit_code": "0"}))
        self.assertFalse(VALIDATORS["procctx.run/1"].is_valid({**doc, "status": {**doc["status"], "code": None}}))
        self.assertTrue(VALIDATORS["procctx.run/1"].is_valid({**doc, "a_field_added_later": 1}))


if __name__ == "__main__":
    unittest.main(verbosity=2)
