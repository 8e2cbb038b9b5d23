"""The MoatlessTools v0.0.2 states: each builds its prompt and turns a validated action into an outcome.

SearchCode → IdentifyCode → DecideRelevance → PlanToCode ⇄ (ClarifyCodeChange →) EditCode,
ending in Finished or Rejected. An outcome is either a transition (next state + its input) or a
retry (feedback for the model, same state). Nothing here calls the model; the loop in
:mod:`swegym_moatless.scaffold` does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from swegym import prompts

from .actions import ACTIONS, ActionSpec
from .file_context import FileContext, render_search_results
from .index import CodeIndex, Hit, is_test_file
from .lint import introduced_errors
from .spans import count_tokens, trim_blank

FINISHED, REJECTED = "Finished", "Rejected"


@dataclass
class Outcome:
    next_state: str | None = None  # None = retry in the same state
    output: dict[str, Any] = field(default_factory=dict)
    retry_message: str | None = None

    @classmethod
    def retry(cls, message: str) -> "Outcome":
        return cls(None, {}, message)

    @classmethod
    def to(cls, state: str, **output: Any) -> "Outcome":
        return cls(state, output)


@dataclass
class Episode:
    """Everything the states share during one rollout."""

    issue: str
    index: CodeIndex
    file_context: FileContext
    write_file: Callable[[str, str], None]
    diff: Callable[[], str]
    read_current: Callable[[str], str | None]
    json_mode: bool = True
    max_search_results: int = 25
    max_prompt_file_tokens: int = 4000
    max_tokens_in_edit_prompt: int = 500
    lint: bool = True
    searches: list[dict[str, Any]] = field(default_factory=list)
    relevant_count: int = 0
    rejections: int = 0
    last_scratch_pad: str | None = None


class State:
    """One state: its action, its prompt and what its action leads to."""

    name = "State"
    system_template = ""
    user_template = ""

    def __init__(self, **data: Any):
        self.data = data

    @property
    def action(self) -> ActionSpec:
        return ACTIONS[self.name]

    def system_prompt(self, ep: Episode) -> str:
        return prompts.render(self.system_template, json_mode=ep.json_mode, action_name=self.action.name,
                              action_schema=json.dumps(self.action.schema))

    def user_prompt(self, ep: Episode) -> str:
        raise NotImplementedError

    def messages(self, ep: Episode) -> list[dict[str, Any]]:
        return [{"role": "system", "content": self.system_prompt(ep)}, {"role": "user", "content": self.user_prompt(ep)}]

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        raise NotImplementedError


def _is_test_pattern(pattern: str) -> bool:
    return "test_" in pattern or "/tests/" in pattern or pattern.startswith("test") or is_test_file(pattern)


class SearchCode(State):
    name = "SearchCode"
    system_template = "moatless/search_system.j2"

    def user_prompt(self, ep: Episode) -> str:
        return prompts.render("moatless/search_user.j2", issue=ep.issue, message=self.data.get("message"),
                              file_context=ep.file_context.render(show_span_ids=True) if ep.file_context else "")

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        ep.last_scratch_pad = args.get("scratch_pad")
        if args.get("complete"):
            if ep.file_context:
                return Outcome.to("PlanToCode", message=args.get("scratch_pad") or "")
            return Outcome.retry("No code has been identified yet, so the search cannot be complete. Search first.")
        params = {k: args.get(k) for k in ("file_pattern", "query", "code_snippet")}
        params["class_names"] = list(args.get("class_names") or [])
        params["function_names"] = list(args.get("function_names") or [])
        if not any([params["query"], params["code_snippet"], params["class_names"], params["function_names"]]):
            return Outcome.retry("You must provide at least one of the search attributes query, code_snippet, "
                                 "class_names or function_names. If you're finished, set complete to true.")
        if params["file_pattern"] and _is_test_pattern(params["file_pattern"]):
            return Outcome.retry("It's not possible to search for test files.")
        if params in ep.searches:
            return Outcome.retry("You already did this exact search:\n" + _describe(params)
                                 + "\n\nPlease provide new search parameters.")
        hits = ep.index.search(max_results=ep.max_search_results, **params)
        ep.searches.append(params)
        if not hits:
            return Outcome.retry("I searched using the following parameters:\n" + _describe(params)
                                 + "\n\nUnfortunately, I didn't find any relevant results.")
        return Outcome.to("IdentifyCode", ranked_spans=[h.__dict__ for h in hits], search=params)


def _describe(params: dict[str, Any]) -> str:
    labels = {"file_pattern": "File Pattern", "query": "Query", "code_snippet": "Code Snippet",
              "class_names": "Class Names", "function_names": "Function Names"}
    return "\n".join(f"* **{labels[k]}:** `{', '.join(v) if isinstance(v, list) else v}`"
                     for k, v in params.items() if v)


class IdentifyCode(State):
    name = "IdentifyCode"
    system_template = "moatless/identify_system.j2"

    def _results(self, ep: Episode) -> tuple[str, list[tuple[str, str]]]:
        if "_rendered" not in self.data:
            hits = [Hit(**h) for h in self.data.get("ranked_spans", [])]
            self.data["_rendered"] = render_search_results(hits, ep.read_current, ep.max_prompt_file_tokens)
        return self.data["_rendered"]

    def user_prompt(self, ep: Episode) -> str:
        text, _ = self._results(ep)
        return prompts.render("moatless/identify_user.j2", issue=ep.issue, search_results=text,
                              file_context=ep.file_context.render(show_span_ids=True) if ep.file_context else "")

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        identified = args.get("identified_spans") or []
        _, shown = self._results(ep)
        shown_files = {f for f, _ in shown}
        problems = []
        for item in identified:
            path = item["file_path"].removeprefix("/testbed/").removeprefix("./")
            if path not in ep.index.files:
                problems.append(f"File {item['file_path']!r} is not in the search results "
                                f"(files shown: {', '.join(sorted(shown_files))}).")
                continue
            known = [s.span_id for s in ep.index.spans_of(path)]
            missing = [sid for sid in item["span_ids"] if sid not in known]
            if missing:
                problems.append(f"Span id(s) {', '.join(missing)} not found in {path}. Available spans: {', '.join(known)}")
        if problems:
            return Outcome.retry("\n".join(problems))
        if not any(item["span_ids"] for item in identified):
            message = (f"The search returned {len(self.data.get('ranked_spans', []))} results. But unfortunately, "
                       f"I didn't find any of the search results relevant to the query.\n\n{args.get('scratch_pad', '')}")
            return Outcome.to("SearchCode", message=message)
        for item in identified:
            ep.file_context.add_spans(item["file_path"].removeprefix("/testbed/").removeprefix("./"), item["span_ids"])
        ep.last_scratch_pad = args.get("scratch_pad")
        return Outcome.to("DecideRelevance", identified_spans=identified)


class DecideRelevance(State):
    name = "DecideRelevance"
    system_template = "moatless/decide_system.j2"
    finish_after_relevant_count = 2

    def user_prompt(self, ep: Episode) -> str:
        return prompts.render("moatless/decide_user.j2", issue=ep.issue, scratch_pad=ep.last_scratch_pad,
                              file_context=ep.file_context.render(show_span_ids=False))

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        if args["relevant"]:
            ep.relevant_count += 1
        if (args["relevant"] and args["complete"]) or (args["relevant"] and ep.relevant_count >= self.finish_after_relevant_count):
            return Outcome.to("PlanToCode", message=None)
        return Outcome.to("SearchCode", message=args.get("search_suggestions") or args.get("scratch_pad") or "")


class PlanToCode(State):
    name = "PlanToCode"
    system_template = "moatless/plan_system.j2"

    def user_prompt(self, ep: Episode) -> str:
        return prompts.render("moatless/plan_user.j2", issue=ep.issue, message=self.data.get("message"),
                              diff=self.data.get("diff"), lint_errors=self.data.get("lint_errors") or [],
                              file_context=ep.file_context.render(show_span_ids=True))

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        action = args["action"]
        if action == "finish":
            return Outcome.to(FINISHED, message=args.get("finish") or args.get("scratch_pad") or "")
        if action == "reject":
            return Outcome.to(REJECTED, message=args.get("reject") or args.get("scratch_pad") or "")
        missing = [k for k in ("instructions", "file_path", "span_id") if not args.get(k)]
        if missing:
            return Outcome.retry(f"To modify code, set {', '.join(missing)}; or set action to finish or reject.")
        path = args["file_path"].removeprefix("/testbed/").removeprefix("./")
        cfile = ep.file_context.get_file(path)
        if cfile is None or not cfile.span_ids:
            files = "\n".join(f" * {p}" for p, f in ep.file_context.files.items() if f.span_ids)
            return Outcome.retry(f"File {args['file_path']} is not found in the file context. "
                                 f"You can only request changes to files that are in file context:\n{files}")
        span = cfile.span(args["span_id"])
        if span is None:
            return Outcome.retry(f"Span not found: {args['span_id']}. Available spans: {', '.join(cfile.span_ids)}")
        if not ep.file_context.has_span(path, span.span_id):
            ep.file_context.add_spans(path, [span.span_id])  # it exists in the file: show it from now on
        out = {"instructions": args["instructions"], "file_path": path, "span_id": span.span_id}
        if span.tokens <= ep.max_tokens_in_edit_prompt:
            lines = cfile.content.split("\n")
            start, end = trim_blank(lines, span.start_line, span.end_line)
            return Outcome.to("EditCode", start_line=start, end_line=end, **out)
        return Outcome.to("ClarifyCodeChange", **out)


class ClarifyCodeChange(State):
    name = "ClarifyCodeChange"
    system_template = "moatless/clarify_system.j2"

    def _span(self, ep: Episode):
        cfile = ep.file_context.get_file(self.data["file_path"])
        return cfile, cfile.span(self.data["span_id"]) if cfile else None

    def user_prompt(self, ep: Episode) -> str:
        cfile, _ = self._span(ep)
        code = FileContext.render_file(cfile, show_span_ids=False, show_line_numbers=True,
                                       outcomment="... other code", only=[self.data["span_id"]])
        return prompts.render("moatless/clarify_user.j2", instructions=self.data["instructions"], code=code)

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        if args.get("reject"):
            return _rejected_edit(ep, args.get("scratch_pad") or "rejected")
        cfile, span = self._span(ep)
        if span is None:  # an earlier edit renamed or removed it
            return Outcome.to("PlanToCode", message=f"Span {self.data['span_id']} no longer exists in "
                                                    f"{self.data['file_path']}; choose another span.")
        start, end = args["start_line"], args["end_line"]
        if start > end:
            return Outcome.retry(f"start_line {start} is after end_line {end}.")
        if start < span.start_line or end > span.end_line:
            return Outcome.retry(f"Lines {start} - {end} are outside the span {span.span_id} "
                                 f"(lines {span.start_line} - {span.end_line}).")
        lines = cfile.content.split("\n")
        tokens = count_tokens("\n".join(lines[start - 1 : end]))
        if tokens > ep.max_tokens_in_edit_prompt:
            return Outcome.retry(f"Lines {start} - {end} have {tokens} tokens, more than the maximum of "
                                 f"{ep.max_tokens_in_edit_prompt}. Specify only the lines that must change, "
                                 f"or reject the request.")
        instructions = self.data["instructions"]
        if args.get("scratch_pad"):
            instructions += "\n\n" + args["scratch_pad"]
        return Outcome.to("EditCode", instructions=instructions, file_path=self.data["file_path"],
                          span_id=self.data["span_id"], start_line=start, end_line=end)


def _rejected_edit(ep: Episode, reason: str) -> Outcome:
    ep.rejections += 1
    return Outcome.to("PlanToCode", message=f"The change request was rejected: {reason}", rejected=True)


class EditCode(State):
    name = "EditCode"
    system_template = "moatless/edit_system.j2"

    def _lines(self, ep: Episode) -> list[str]:
        return ep.file_context.get_file(self.data["file_path"]).content.split("\n")

    def user_prompt(self, ep: Episode) -> str:
        lines = self._lines(ep)
        search = "\n".join(lines[self.data["start_line"] - 1 : self.data["end_line"]])
        return prompts.render("moatless/edit_user.j2", issue=ep.issue, instructions=self.data["instructions"],
                              file_context=ep.file_context.render(show_span_ids=False, outcomment="... other code"),
                              search=search)

    def handle(self, args: dict[str, Any], ep: Episode) -> Outcome:
        if args.get("reject"):
            return _rejected_edit(ep, args["reject"])
        path = self.data["file_path"]
        lines = self._lines(ep)
        start, end = self.data["start_line"], self.data["end_line"]
        old = "\n".join(lines[start - 1 : end])
        new = args["replace"].strip("\n") if args["replace"].strip() else ""
        if new.rstrip() == old.rstrip():
            return Outcome.retry("The code in replace is the same as in the search. Set reject if you can't do any changes.")
        before = "\n".join(lines)
        after_lines = lines[: start - 1] + (new.split("\n") if new else []) + lines[end:]
        after = "\n".join(after_lines)
        ep.write_file(path, after)
        ep.file_context.refresh(path)
        errors = [e.to_dict() for e in introduced_errors(before, after, path)] if ep.lint else []
        return Outcome.to("PlanToCode", message=f"Applied the change to {path}.", diff=ep.diff(), lint_errors=errors)


STATES: dict[str, type[State]] = {cls.name: cls for cls in
                                  (SearchCode, IdentifyCode, DecideRelevance, PlanToCode, ClarifyCodeChange, EditCode)}
