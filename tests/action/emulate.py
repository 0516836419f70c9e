#!/usr/bin/env python3
"""Runs a composite action's steps as GitHub's runner does, for the tests.

    emulate.py ACTION_DIR WORKSPACE INPUTS_JSON OUT_JSON

The runner's environment is emulated: GITHUB_WORKSPACE, GITHUB_ACTION_PATH, RUNNER_TEMP,
GITHUB_STEP_SUMMARY, GITHUB_OUTPUT and GITHUB_PATH files, and whatever GITHUB_* variables
the caller sets (GITHUB_EVENT_NAME, GITHUB_BASE_REF). `run` steps are run with
`bash --noprofile --norc -eo pipefail` in their working directory, with their `env`;
lines a step appends to GITHUB_PATH are put in front of PATH for the steps after it, and
its GITHUB_OUTPUT becomes `steps.<id>.outputs`. `uses` steps are not run: they are
recorded with their evaluated `with` values. Expressions (`${{ ... }}`) support what
actions commonly use: contexts `inputs`, `github`, `runner`, `steps`, `env`; string
literals; `==`, `!=`, `&&`, `||`, `!`, parentheses; `always()`, `success()`, `failure()`.

OUT_JSON receives the steps (name, outcome, exit code, stdout, stderr, evaluated `with`),
the step summary and the action's outputs; RUNNER_TEMP is made in OUT_JSON's folder.
Requires PyYAML (pre-commit brings it).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml


class Expr:
    """A tiny evaluator for GitHub Actions expressions."""

    TOKEN = re.compile(
        r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|"
        r"(?P<call>always\(\)|success\(\)|failure\(\)|cancelled\(\))|"
        r"(?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)|(?P<num>\d+))"
    )

    def __init__(self, ctx, status):
        self.ctx = ctx
        self.status = status

    def tokens(self, text):
        pos, out = 0, []
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = self.TOKEN.match(text, pos)
            if not m:
                raise ValueError(f"cannot read expression {text!r} at {pos}")
            kind = m.lastgroup
            out.append((kind, m.group(kind)))
            pos = m.end()
        return out

    def eval(self, text):
        self.toks = self.tokens(text)
        self.i = 0
        v = self.or_()
        if self.i != len(self.toks):
            raise ValueError(f"trailing tokens in {text!r}")
        return v

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.i += 1
            r = self.and_()
            v = v if truthy(v) else r
        return v

    def and_(self):
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.i += 1
            r = self.cmp()
            v = r if truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.peek()[1]
            self.i += 1
            r = self.unary()
            # GitHub compares strings case-insensitively.
            eq = str(v).lower() == str(r).lower()
            v = eq if op == "==" else not eq
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.i += 1
            return not truthy(self.unary())
        return self.atom()

    def atom(self):
        kind, val = self.peek()
        self.i += 1
        if kind == "str":
            return val[1:-1].replace("''", "'")
        if kind == "num":
            return val
        if kind == "call":
            name = val[:-2]
            return {
                "always": True,
                "success": self.status == "success",
                "failure": self.status == "failure",
                "cancelled": False,
            }[name]
        if (kind, val) == ("op", "("):
            v = self.or_()
            if self.peek() != ("op", ")"):
                raise ValueError("missing )")
            self.i += 1
            return v
        if kind == "name":
            if val in ("true", "false"):
                return val == "true"
            cur = self.ctx
            for part in val.split("."):
                cur = cur.get(part, "") if isinstance(cur, dict) else ""
            return cur
        raise ValueError(f"unexpected token {val!r}")


def truthy(v):
    return v not in ("", False, None, 0)


def interpolate(text, ev):
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: to_str(ev.eval(m.group(1))), str(text))


def to_str(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def main():
    action_dir, workspace, inputs_json, out_json = sys.argv[1:5]
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    given = json.loads(inputs_json)
    inputs = {}
    for name, spec in (action.get("inputs") or {}).items():
        inputs[name] = str(given.get(name, (spec or {}).get("default", "")))
    unknown = set(given) - set(inputs)
    if unknown:
        sys.exit(f"unknown inputs: {sorted(unknown)}")

    # RUNNER_TEMP, in OUT_JSON's folder: the caller reads what the steps left there (the
    # SARIF file) after the run, and removes it with that folder.
    temp = tempfile.mkdtemp(prefix="runner-temp-", dir=os.path.dirname(os.path.abspath(out_json)))
    files = {}
    for var in ("GITHUB_STEP_SUMMARY", "GITHUB_PATH", "GITHUB_ENV"):
        files[var] = os.path.join(temp, var.lower())
        open(files[var], "w").close()
    env = dict(os.environ)
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_WORKSPACE": workspace,
            "GITHUB_ACTION_PATH": action_dir,
            "RUNNER_TEMP": temp,
            **files,
        }
    )
    ctx = {
        "inputs": inputs,
        "github": {
            "event_name": env.get("GITHUB_EVENT_NAME", ""),
            "base_ref": env.get("GITHUB_BASE_REF", ""),
            "workspace": workspace,
            "action_path": action_dir,
        },
        "runner": {"temp": temp},
        "steps": {},
        "env": env,
    }
    results = []
    status = "success"
    extra_path = []
    for step in action["runs"]["steps"]:
        ev = Expr(ctx, status)
        cond = step.get("if", "success()")
        cond = str(cond)
        m = re.fullmatch(r"\s*\$\{\{(.*)\}\}\s*", cond)
        run_it = truthy(ev.eval(m.group(1) if m else cond))
        rec = {"name": step.get("name", ""), "id": step.get("id", "")}
        if not run_it:
            rec["outcome"] = "skipped"
            results.append(rec)
            continue
        if "uses" in step:
            rec["uses"] = step["uses"]
            rec["with"] = {k: interpolate(v, ev) for k, v in (step.get("with") or {}).items()}
            rec["outcome"] = "recorded"
            results.append(rec)
            continue
        step_env = dict(env)
        step_env["PATH"] = os.pathsep.join(extra_path + [env.get("PATH", "")])
        for k, v in (step.get("env") or {}).items():
            step_env[k] = interpolate(v, ev)
        output_file = os.path.join(temp, f"output-{len(results)}")
        open(output_file, "w").close()
        step_env["GITHUB_OUTPUT"] = output_file
        cwd = os.path.join(workspace, interpolate(step.get("working-directory", "."), ev))
        script = os.path.join(temp, f"step-{len(results)}.sh")
        with open(script, "w") as f:
            f.write(interpolate(step["run"], ev))
        shell = step.get("shell")
        if shell != "bash":
            sys.exit(f"step {rec['name']!r}: composite run steps need `shell: bash` here")
        p = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
        )
        rec.update(
            {
                "outcome": "success" if p.returncode == 0 else "failure",
                "code": p.returncode,
                "stdout": p.stdout,
                "stderr": p.stderr,
            }
        )
        results.append(rec)
        if p.returncode != 0:
            status = "failure"
        outputs = {}
        with open(output_file) as f:
            for line in f.read().splitlines():
                if "=" in line:
                    k, v = line.split("=", 1)
                    outputs[k] = v
        if step.get("id"):
            ctx["steps"][step["id"]] = {"outputs": outputs, "outcome": rec["outcome"]}
        with open(files["GITHUB_PATH"]) as f:
            extra_path = [line for line in f.read().splitlines() if line][::-1]
    ev = Expr(ctx, status)
    action_outputs = {
        k: interpolate((v or {}).get("value", ""), ev) for k, v in (action.get("outputs") or {}).items()
    }
    with open(files["GITHUB_STEP_SUMMARY"]) as f:
        summary = f.read()
    with open(out_json, "w") as f:
        json.dump(
            {"status": status, "steps": results, "summary": summary, "outputs": action_outputs},
            f,
            indent=2,
        )


if __name__ == "__main__":
    main()
