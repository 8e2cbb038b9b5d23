"""The fork's states (find/search_v2.py, identify.py, decide.py, edit/plan.py, edit.py), ported
line by line: same prompts, same user-message assembly, same handling of each action.

A state builds its system prompt and its messages (user turns, and assistant turns holding either
an earlier action or text), and turns a parsed action into a ``Response``: a trigger with output
for the next state, or a retry message. Nothing here calls the model; ``scaffold.py`` does.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional

from pydantic import BaseModel

from swegym import prompts

from .fork_actions import ACTION_TYPES, EDIT_STOP_WORDS, Decision
from .codeblocks import BlockType, Group
from .lint import LintError, format_errors, introduced_errors
from .settings import MoatlessSettings
from .tokenizer import count_tokens

if TYPE_CHECKING:
    from .scaffold import Run

FINISHED, REJECTED = "Finished", "Rejected"
NO_RESULTS = "\n\nUnfortunately, I didn’t find any relevant results."


@dataclass
class Response:
    trigger: Optional[str] = None
    output: dict[str, Any] = field(default_factory=dict)
    retry_message: Optional[str] = None

    @classmethod
    def retry(cls, message: str) -> "Response":
        return cls("retry", {}, message)

    @classmethod
    def transition(cls, trigger: str, output: Optional[dict[str, Any]] = None) -> "Response":
        return cls(trigger, output or {})


def user(content: str) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(action: Any) -> dict[str, Any]:
    """An earlier reply: a parsed action (replayed as indented JSON) or text."""
    return {"role": "assistant", "action": action}


def _source(name: str) -> str:
    return prompts.source(f"moatless/fork/{name}.j2")


class State:
    name = "State"
    max_iterations: Optional[int] = None

    def __init__(self, settings: MoatlessSettings, **data: Any):
        self.settings = settings
        self.data = data

    def init(self, run: "Run") -> None:
        pass

    @property
    def action_type(self) -> Optional[type[BaseModel]]:
        return ACTION_TYPES[self.name]

    def stop_words(self) -> Optional[list[str]]:
        return None

    def system_prompt(self, run: "Run") -> str:
        return ""

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        return []

    def handle(self, action: Any, run: "Run") -> Response:
        raise NotImplementedError


def is_test_pattern(file_pattern: str) -> bool:
    for pattern in ["test_*.py", "/tests/"]:
        if pattern in file_pattern:
            return True
    if file_pattern.startswith("test"):
        return True
    return bool(fnmatch.filter([file_pattern], "test_*.py"))


class SearchCode(State):
    name = "SearchCode"

    @property
    def message(self) -> Optional[str]:
        return self.data.get("message")

    def system_prompt(self, run: "Run") -> str:
        prompt = _source("search_system")
        if run.json_mode:
            prompt += _source("search_json_few_shot")
        elif self.settings.model_name.startswith("openai"):
            prompt += _source("search_functions_few_shot_openai")
        else:
            prompt += _source("search_functions_few_shot")
        if not self.settings.support_test_files:
            prompt += _source("ignore_test")
        return prompt

    def handle(self, action: Any, run: "Run") -> Response:
        if action.complete:
            return Response.transition("finish", {"message": action.scratch_pad})
        if not action.has_search_attributes():
            return self._retry(run, "You must provide at least one the search attributes query, code_snippet, "
                                    "class_name or function_name to search. If you're finished, set finished to true.")
        for request in action.search_requests:
            if not self.settings.support_test_files and request.file_pattern and is_test_pattern(request.file_pattern):
                return self._retry(run, "It's not possible to search for test files.")
        ranked_spans = []
        for request in action.search_requests:
            hits = run.workspace.code_index.search(
                file_pattern=request.file_pattern, query=request.query, code_snippet=request.code_snippet,
                class_names=request.class_names, function_names=request.function_names,
                max_results=int(self.settings.max_search_results / len(action.search_requests)))
            for hit in hits:
                for span in hit.spans:
                    ranked_spans.append({"file_path": hit.file_path, "span_id": span.span_id, "rank": span.rank,
                                         "tokens": span.tokens})
        if not ranked_spans:
            return self._retry(run, NO_RESULTS)
        output: dict[str, Any] = {"ranked_spans": ranked_spans}
        output.update(action.model_dump(exclude={"scratch_pad"}))
        return Response.transition("did_search", output)

    def _retry(self, run: "Run", message: str) -> Response:
        if run.retries() > self.settings.max_retries_with_any_file_context and run.workspace.file_context.files:
            return Response.transition("finish")
        return Response.retry(message)

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        s = self.settings
        messages: list[dict[str, Any]] = []
        content = f"<issue>\n{run.issue}\n</issue>"
        if s.provide_initial_context:
            hits = run.workspace.code_index.semantic_search(
                query=run.issue, exact_match_if_possible=False,
                max_spans_per_file=s.initial_context_spans_per_file, max_results=s.initial_search_results)
            file_context = run.workspace.create_file_context(max_tokens=s.initial_context_tokens)
            for hit in hits:
                for span in hit.spans:
                    file_context.add_span_to_context(hit.file_path, span.span_id, tokens=1)
            content += "\n\nHere's some files that might be relevant when formulating the search.\n"
            content += file_context.create_prompt(show_span_ids=False, show_line_numbers=False,
                                                  exclude_comments=True, show_outcommented_code=False)
        for visit in run.previous_visits(self.name):
            if visit.state.message:
                content += visit.state.message
            messages.append(user(content))
            messages.append(assistant(visit.actions[-1].action))
            content = ""
        if self.message:
            content += f"\n\n{self.message}\n"
        if run.workspace.file_context.files:
            file_context_str = run.workspace.file_context.create_prompt(
                exclude_comments=True, show_outcommented_code=True, outcomment_code_comment="... rest of the code")
        else:
            file_context_str = "No files found yet."
        content += f"\n\n<file_context>\n{file_context_str}\n</file_context>"
        messages.append(user(content))
        messages.extend(run.retry_messages(self))
        return messages


class IdentifyCode(State):
    name = "IdentifyCode"

    def __init__(self, settings: MoatlessSettings, **data: Any):
        super().__init__(settings, **data)
        # one list for the visit: add_ranked_spans sorts it and drops what does not fit, and the
        # "returned N results" message counts what is left, as in the fork
        self._ranked = [SimpleNamespace(**s) for s in data.get("ranked_spans") or []]

    def system_prompt(self, run: "Run") -> str:
        return _source("identify_system")

    def handle(self, action: Any, run: "Run") -> Response:
        if action.identified_spans:
            run.workspace.file_context.add_files_with_spans(
                [(f.file_path, f.span_ids) for f in action.identified_spans])
            return Response.transition("finish")
        message = (f"The search returned {len(self._ranked)} results. But unfortunately, I didn’t find any of the "
                   f"search results relevant to the query.")
        message += "\n\n"
        message += action.scratch_pad
        return Response.transition("search", {"message": message})

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        s = self.settings
        file_context = run.workspace.create_file_context(max_tokens=s.max_prompt_file_tokens)
        file_context.add_ranked_spans(self._ranked)
        options = dict(show_span_ids=True, show_line_numbers=False, exclude_comments=True,
                       show_outcommented_code=True, outcomment_code_comment="... rest of the code")
        if file_context.files:
            file_context.expand_context_with_init_spans()
            if s.identify_expand_context:
                file_context.expand_context_with_related_spans(max_tokens=s.max_prompt_file_tokens, set_tokens=True)
                file_context.expand_small_classes(max_tokens=s.max_prompt_file_tokens)
            search_result_str = file_context.create_prompt(**options)
        else:
            search_result_str = "No new search results found."
        if run.workspace.file_context.files:
            file_context_str = run.workspace.file_context.create_prompt(**options)
        else:
            file_context_str = "No relevant code identified yet."
        content = (f"<issue>\n{run.issue}\n</issue>\n\n<file_context>\n{file_context_str}\n</file_context>\n\n"
                   f"<search_results>\n{search_result_str}\n</search_results>\n")
        return [user(content)]


class DecideRelevance(State):
    name = "DecideRelevance"

    def system_prompt(self, run: "Run") -> str:
        return _source("decide_system")

    def handle(self, action: Any, run: "Run") -> Response:
        if action.complete and action.relevant:
            return Response.transition("finish")
        if action.relevant and self._relevant_count(run) >= self.settings.finish_after_relevant_count:
            return Response.transition("finish")
        return Response.transition("search", {"message": action.search_suggestions})

    def _relevant_count(self, run: "Run") -> int:
        return sum(1 for visit in run.previous_visits(self.name) for a in visit.actions
                   if isinstance(a.action, Decision) and a.action.relevant)

    def _last_scratch_pad(self, run: "Run") -> Optional[str]:
        searches = run.previous_visits("SearchCode")
        if searches and searches[-1].actions:
            return searches[-1].actions[-1].action.scratch_pad
        return None

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        s, fc = self.settings, run.workspace.file_context
        if s.decide_expand_context:
            fc.expand_context_with_init_spans()
            fc.expand_context_with_related_spans(max_tokens=s.max_prompt_file_tokens)
            fc.expand_small_classes(max_tokens=s.max_prompt_file_tokens)
        file_context_str = fc.create_prompt(show_span_ids=False, show_line_numbers=False, exclude_comments=True,
                                             show_outcommented_code=True,
                                             outcomment_code_comment="... rest of the code")
        content = f"<issue>\n{run.issue}\n</issue>\n"
        scratch_pad = self._last_scratch_pad(run)
        if scratch_pad:
            content += f"<scratch_pad>\n{scratch_pad}\n</scratch_pad>"
        content += f"\n<file_context>\n{file_context_str}\n</file_context>\n"
        return [user(content)]


class PlanToCode(State):
    name = "PlanToCode"

    def __init__(self, settings: MoatlessSettings, **data: Any):
        super().__init__(settings, **data)
        self.max_iterations = settings.plan_max_iterations

    @property
    def message(self) -> Optional[str]:
        return self.data.get("message")

    def init(self, run: "Run") -> None:
        fc = run.workspace.file_context
        fc.expand_context_with_init_spans()
        if self.settings.plan_expand_context_with_related_spans and not run.previous_visits(self.name):
            fc.expand_context_with_related_spans(max_tokens=self.settings.max_prompt_file_tokens)
            fc.expand_small_classes(max_tokens=1000)

    def system_prompt(self, run: "Run") -> str:
        return _source("coder_system") + _source("select_span_system") + _source("coder_final_system")

    def handle(self, action: Any, run: "Run") -> Response:
        if action.action == "review":
            if self.data.get("diff") and self.settings.finish_on_review:
                return Response.transition("finish", {"message": "Finish on suggested review."})
            return Response.retry("Review isn't possible. If the change is done you can finish or reject the task.")
        if action.finish:
            run.workspace.file_context.save()
            return Response.transition("finish", {"message": action.finish})
        if action.reject:
            return Response.transition("reject", {"message": action.reject})
        if action.file_path and action.span_id:
            return self._request_for_change(action, run)
        return Response.retry("You must either provide an apply_change action or finish.")

    def _request_for_change(self, rfc: Any, run: "Run") -> Response:
        fc = run.workspace.file_context
        if not fc.get_file(rfc.file_path):
            files_str = "".join(f" * {f.file_path}\n" for f in fc.files)
            return Response.retry(f"File {rfc.file_path} is not found in the file context. "
                                  f"You can only request changes to files that are in file context:\n{files_str}")
        span_ids = [span.span_id for span in fc.get_spans(rfc.file_path)]
        span = fc.edit_span(rfc.file_path, rfc.span_id)
        if span is None and self.settings.allow_hallucinated_spans and fc.hallucinated_span(rfc.file_path, rfc.span_id):
            fc.add_span_to_context(rfc.file_path, rfc.span_id)
            span = fc.edit_span(rfc.file_path, rfc.span_id)
        if span is None:
            return Response.retry(f"Span not found: {rfc.span_id}. Available spans: {', '.join(span_ids)}")
        if span.tokens > self.settings.max_tokens_in_edit_prompt:
            return Response.transition("edit_code", {"instructions": rfc.instructions, "file_path": rfc.file_path,
                                                     "span_id": rfc.span_id})
        return Response.transition("edit_code", {"instructions": rfc.instructions, "file_path": rfc.file_path,
                                                 "span_id": rfc.span_id, "start_line": span.start_line,
                                                 "end_line": span.end_line})

    def to_message(self) -> str:
        response_msg = ""
        if self.message:
            response_msg += self.message
        if self.data.get("diff"):
            response_msg += f"\n\n<diff>\n{self.data['diff']}\n</diff>"
        errors: list[LintError] = self.data.get("verification_errors") or []
        response_msg += format_errors(errors)
        return response_msg

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        content = f"<issue>\n{run.issue}\n</issue>" if run.issue else ""
        for visit in run.previous_visits(self.name):
            new_message = visit.state.to_message()
            if new_message and not content:
                content = new_message
            elif new_message:
                content += f"\n\n{new_message}"
            messages.append(user(content))
            messages.append(assistant(visit.actions[-1].action))
            content = ""
        content += self.to_message()
        file_context_str = run.workspace.file_context.create_prompt(
            show_span_ids=True, exclude_comments=True, show_outcommented_code=True,
            outcomment_code_comment="... rest of the code")
        content += f"\n\n<file_context>\n{file_context_str}\n</file_context>"
        messages.append(user(content))
        messages.extend(run.retry_messages(self))
        return messages


class EditCode(State):
    name = "EditCode"

    def __init__(self, settings: MoatlessSettings, **data: Any):
        super().__init__(settings, **data)
        self.max_iterations = settings.edit_max_iterations
        self._code_to_replace = ""
        self._retry = 0

    def init(self, run: "Run") -> None:
        path = self.data["file_path"]
        if not run.workspace.file_context.get_file(path):
            raise ValueError(f"File not found: {path}")
        lines = run.workspace.file_context.content(path).split("\n")
        self._code_to_replace = "\n".join(lines[self.data["start_line"] - 1: self.data["end_line"]])

    def stop_words(self) -> Optional[list[str]]:
        return list(EDIT_STOP_WORDS)

    @property
    def _add_prepared_response(self) -> bool:
        return "claude" in self.settings.model_name and not self.settings.edit_chain_of_thought

    def system_prompt(self, run: "Run") -> str:
        prompt = _source("edit_role")
        if self.settings.edit_show_initial_message:
            prompt += "\n\n" + _source("edit_main_objective")
        prompt += "\n\n" + _source("edit_search_replace")
        if self.settings.edit_chain_of_thought:
            prompt += "\n\n" + _source("edit_chain_of_thought")
        return prompt

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        s = self.settings
        content = ""
        if s.edit_show_initial_message:
            content = f"<main_objective>\n{run.issue}\n</main_objective>\n\n"
        content += f"<instructions>\n{self.data['instructions']}\n</instructions>\n"
        options = dict(show_line_numbers=False, show_span_ids=False, exclude_comments=False,
                       show_outcommented_code=True, outcomment_code_comment="... other code")
        if s.edit_show_file_context:
            file_context_str = run.workspace.file_context.create_prompt(**options)
        else:
            file_context = run.workspace.create_file_context()
            file_context.add_span_to_context(self.data["file_path"], self.data.get("span_id"))
            file_context.expand_context_with_init_spans()
            file_context.expand_context_with_related_spans(s.edit_max_prompt_file_tokens)
            file_context_str = file_context.create_prompt(**options)
        content += f"<file_context>\n{file_context_str}\n</file_context>\n"
        content += f"<search>\n{self._code_to_replace}\n</search>"
        messages = [user(content)]
        messages.extend(run.retry_messages(self))
        if self._add_prepared_response:
            messages.append({"role": "assistant", "content": "<replace>"})
        return messages

    def handle(self, content: str, run: "Run") -> Response:
        scratch_pad = None
        if "<scratch_pad>" in content:
            scratch_pad = content.split("<scratch_pad>")[1].split("</scratch_pad>")[0]
        if "<reject>" in content:
            return Response.transition("reject", {"message": content.split("<reject>")[1].split("</reject>")[0]})
        msg_split = content.split("<replace>")
        if len(msg_split) == 1:
            if not self._add_prepared_response:
                return Response.retry("You did not provide any code in the replace tag. If you want to reject the "
                                      "instructions, use the reject function.")
            replacement_code = msg_split[0]
        else:
            if msg_split[0] and not scratch_pad:
                scratch_pad = msg_split[0]
            replacement_code = msg_split[1].split("</replace>")[0]
        path, fc = self.data["file_path"], run.workspace.file_context
        original = fc.content(path)
        updated, diff, error = fc.update_content_by_line_numbers(
            path, self.data["start_line"] - 1, self.data["end_line"], replacement_code)
        if diff and updated:
            message = f"Applied the change to {path}."
            if scratch_pad:
                message += f"\n\n<scratch_pad>\n{scratch_pad}</scratch_pad>"
            errors: list[LintError] = []
            if self.settings.lint and path.endswith(".py"):
                errors = introduced_errors(original, fc.content(path), path)
            return Response.transition("finish", {"message": message, "diff": diff, "verification_errors": errors})
        if self._retry > 2:
            return Response.transition("reject", {"message": "Failed to apply changes. Please try again."})
        if diff:
            response_message = (f"The following diff was not applied:\n {diff}. \n"
                                f"Errors:\n{error}\n"
                                f"Make sure that you return the unchanged code in the replace tag exactly as it is. "
                                f"If you want to reject the instructions, use the reject function.")
        else:
            response_message = ("The code in the replace tag is the same as in the search. Use the reject function if "
                                "you can't do any changes and want to reject the instructions.")
        self._retry += 1
        return Response.retry(response_message)


class ClarifyCodeChange(State):
    """edit/clarify.py: ask for the lines to change when the span is too big for one edit."""

    name = "ClarifyCodeChange"

    def __init__(self, settings: MoatlessSettings, **data: Any):
        super().__init__(settings, **data)
        self._module = None
        self._span = None
        self._content = ""
        self._file_context_str = ""

    def init(self, run: "Run") -> None:
        path, span_id = self.data["file_path"], self.data["span_id"]
        file_context = run.workspace.create_file_context()
        file_context.add_span_to_context(path, span_id)
        context_file = file_context.get_file(path)
        self._module, self._content = context_file.module, context_file.content
        self._span = self._module.find_span_by_id(span_id)
        block = self._span.initiating_block
        if block.type == BlockType.CLASS:  # all signatures of a class
            for child in block.children:
                if child.type.group == Group.STRUCTURE and child.belongs_to_span \
                        and child.belongs_to_span.span_id != self._span.span_id:
                    file_context.add_span_to_context(path, child.belongs_to_span.span_id, tokens=1)
        self._file_context_str = file_context.create_prompt(
            show_line_numbers=True, show_span_ids=False, exclude_comments=False, show_outcommented_code=True,
            outcomment_code_comment="... other code")

    def system_prompt(self, run: "Run") -> str:
        return _source("clarify_system")

    def messages(self, run: "Run") -> list[dict[str, Any]]:
        messages = [user(f"<instructions>\n{self.data['instructions']}\n</instructions>\n"
                         f"<code>\n{self._file_context_str}\n</code>")]
        messages.extend(run.retry_messages(self))
        return messages

    def handle(self, request: Any, run: "Run") -> Response:
        if request.reject:
            return Response.transition("reject", {"message": request.scratch_pad})
        retry_message = self._verify_line_numbers(request)
        if retry_message:
            return Response.retry(retry_message)
        if request.end_line - request.start_line < 4:
            start_line, end_line = self._line_span(request.start_line, request.end_line,
                                                   self.settings.clarify_max_tokens_in_edit_prompt)
        else:
            start_line, end_line = request.start_line, request.end_line
        instructions = self.data["instructions"]
        if request.scratch_pad:
            instructions += "\n\n" + request.scratch_pad
        return Response.transition("edit_code", {"instructions": instructions, "file_path": self.data["file_path"],
                                                 "span_id": self.data["span_id"], "start_line": start_line,
                                                 "end_line": end_line})

    def _verify_line_numbers(self, lines: Any) -> Optional[str]:
        span, limit = self._span, self.settings.clarify_max_tokens_in_edit_prompt
        if lines.start_line <= span.start_line and lines.end_line >= span.end_line:
            return (f"The provided line numbers {lines.start_line} - {lines.end_line} covers the whole code span. "
                    f"You must specify line numbers of only lines you want to change.")
        block = span.initiating_block
        if block.type.group == Group.STRUCTURE:
            last_block_content_line = block.children[0].start_line - 1
            if lines.start_line == block.start_line and last_block_content_line >= lines.end_line \
                    and block.sum_tokens() > limit:
                clarify_msg = (f"The line numbers {lines.start_line} - {lines.end_line} only covers to the signature "
                               f"of the {block.type.label}.")
                return (f"{clarify_msg}. You need to specify the exact part of the code that needs to be updated to "
                        f"fulfill the change.")
        tokens = count_tokens("\n".join(self._content.split("\n")[lines.start_line - 1: lines.end_line]))
        if tokens > limit:
            clarify_msg = (f"Lines {lines.start_line} - {lines.end_line} has {tokens} tokens, which is higher than the "
                           f"maximum allowed {limit} tokens in completion")
            return (f"{clarify_msg}. You need to specify the exact part of the code that needs to be updated to fulfill "
                    f"the change. If this is not possible you should reject the request.")
        return None

    def _line_span(self, start_line: int, end_line: int, max_tokens: int) -> tuple[int, int]:
        start_block = _first_by_start_line(self._module, start_line)
        if start_block is None:
            raise ValueError(f"No block found in {self.data['file_path']} that starts at line {start_line}")
        if start_block.type.group == Group.STRUCTURE and (not end_line or start_block.end_line > end_line):
            structure = start_block
        else:
            structure = start_block.parent_of_group(Group.STRUCTURE)
        if structure.sum_tokens() < max_tokens:
            return structure.start_line, structure.end_line
        end_line = end_line or start_line
        lines = self._content.split("\n")
        if structure.end_line - end_line < 5:
            end_line = structure.end_line
        else:
            end_line = _post_end_line(end_line, structure.end_line, lines)
        if start_line - structure.start_line < 5:
            start_line = structure.start_line
        else:
            start_line = _pre_start_line(start_line, structure.start_line, lines)
        return start_line, end_line


def _first_by_start_line(block: Any, start_line: int) -> Any:
    for child in block.children:
        if child.start_line >= start_line:
            return child
        if child.end_line >= start_line:
            if not child.children:
                return child
            found = _first_by_start_line(child, start_line)
            if found:
                return found
    return None


def _pre_start_line(start_line: int, min_start_line: int, lines: list[str], max_lines: int = 4) -> int:
    if start_line > len(lines):
        raise ValueError(f"start_line {start_line} is out of range ({len(lines)}).")
    if start_line - min_start_line < max_lines:
        return min_start_line
    index = start_line - 1
    found = [i for i in range(max(0, index - 1), max(min_start_line, index - max_lines) - 1, -1) if lines[i].strip()]
    if found:
        return found[-1] + 1
    if lines[index].strip():
        return index + 1
    raise ValueError("No non-empty line found within 3 lines above the start_line.")


def _post_end_line(end_line: int, max_end_line: int, lines: list[str], max_lines: int = 4) -> int:
    if end_line < 1 or end_line > len(lines):
        raise IndexError("end_line is out of range.")
    if max_end_line - end_line < max_lines:
        return max_end_line
    index = end_line - 1
    found = [i for i in range(min(len(lines) - 1, index + 1), min(max_end_line - 1, index + max_lines) + 1)
             if lines[i].strip()]
    if found:
        return found[-1] + 1
    if lines[index].strip():
        return index + 1
    raise ValueError("No non-empty line found within 3 lines after the end_line.")


STATES: dict[str, type[State]] = {cls.name: cls for cls in (SearchCode, IdentifyCode, DecideRelevance, PlanToCode,
                                                              ClarifyCodeChange, EditCode)}

# search_and_code_transitions (transitions.py): (state, trigger) -> next state. PlanToCode's
# "edit_code" goes to EditCode with line numbers, else (a span over max_tokens_in_edit_prompt) to
# ClarifyCodeChange: the fork picks the first transition whose required fields the output has.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("SearchCode", "did_search"): "IdentifyCode",
    ("SearchCode", "finish"): "PlanToCode",
    ("IdentifyCode", "search"): "SearchCode",
    ("IdentifyCode", "finish"): "DecideRelevance",
    ("DecideRelevance", "search"): "SearchCode",
    ("DecideRelevance", "finish"): "PlanToCode",
    ("PlanToCode", "edit_code"): "EditCode",  # or ClarifyCodeChange without start_line / end_line
    ("ClarifyCodeChange", "edit_code"): "EditCode",
    ("ClarifyCodeChange", "reject"): "PlanToCode",
    ("PlanToCode", "finish"): FINISHED,
    ("PlanToCode", "reject"): REJECTED,
    ("EditCode", "finish"): "PlanToCode",
    ("EditCode", "reject"): "PlanToCode",
}
