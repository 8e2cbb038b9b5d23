"""The fork's action formats: pydantic models whose JSON schema, JSON dump and validation errors are
byte-for-byte what the fork's models produce (they are the fork's formats, restated).

Why pydantic: in instructor's JSON mode the model sees ``model_json_schema()`` in the system
prompt, its earlier actions come back as ``model_dump_json(indent=2)``, and an unparsable reply is
answered with pydantic's own ``ValidationError`` text. Restating the fields, their order, defaults
and descriptions is the only way to show a model exactly what the fork showed it.
"""
from __future__ import annotations

import json
from textwrap import dedent
from typing import List, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SearchRequest(BaseModel):
    file_pattern: Optional[str] = Field(
        default=None,
        description="A glob pattern to filter search results to specific file types or directories. ",
    )
    query: Optional[str] = Field(
        default=None,
        description="A semantic similarity search query. Use natural language to describe what you are looking for.",
    )
    code_snippet: Optional[str] = Field(
        default=None,
        description="Specific code snippet to that should be exactly matched.",
    )
    class_names: list[str] = Field(default=[], description="Specific class names to include in the search.")
    function_names: list[str] = Field(default=[], description="Specific function names to include in the search.")

    def has_search_attributes(self) -> bool:
        return any([self.query, self.code_snippet, self.class_names, self.function_names])


class Search(BaseModel):
    """Take action to search for code, identify found and finish up."""

    scratch_pad: str = Field(
        description="Scratch pad for the search. Use this to write down your thoughts on how to approach the search."
    )
    search_requests: List[SearchRequest] = Field(default=[], description="List of search requests.")
    complete: Optional[bool] = Field(default=False, description="Set to true when the search is complete.")

    def has_search_attributes(self) -> bool:
        return all([search.has_search_attributes() for search in self.search_requests])


class FileWithSpans(BaseModel):
    file_path: str = Field(description="The file path where the relevant code is found.")
    span_ids: List[str] = Field(
        default_factory=list,
        description="The span ids of the relevant code in the file",
    )


class Identify(BaseModel):
    """Identify if the provided search result is relevant to the reported issue."""

    scratch_pad: str = Field(description="Your thoughts on how to identify the relevant code and why.")
    identified_spans: Optional[List[FileWithSpans]] = Field(
        default=None,
        description="Files and code spans in the search results identified as relevant to the reported issue.",
    )


class Decision(BaseModel):
    """Provide your decision if all relevant file context is provided."""

    scratch_pad: str = Field(
        description="Your thoughts on if the spans where relevant or not and if you found all relevant spans and can finish.."
    )
    relevant: bool = Field(default=False, description="Set to true if the relevant code have been identified.")
    complete: bool = Field(default=False, description="Set to true if all the relevant code have been identified.")
    search_suggestions: Optional[str] = Field(
        None,
        description="Suggestions on how to find the relevant code not found in the file context.",
    )


class ApplyChange(BaseModel):
    """
    Request to apply a change to the code.
    """

    scratch_pad: str = Field(..., description="Your thoughts on the code change.")
    action: str = Field(
        ...,
        description="The action to take, possible values are 'modify', 'review', 'finish', 'reject'",
    )
    instructions: Optional[str] = Field(None, description="Instructions to do the code change.")
    file_path: Optional[str] = Field(None, description="The file path of the code to be updated.")
    span_id: Optional[str] = Field(None, description="The span id of the code to be updated.")
    reject: Optional[str] = Field(None, description="Reject the request and explain why.")
    finish: Optional[str] = Field(None, description="Finish the request and explain why")

    model_config = ConfigDict(extra="allow")


class LineNumberClarification(BaseModel):
    scratch_pad: str = Field(..., description="Thoughts on which lines to select")
    start_line: int = Field(..., description="The start line of the code to be updated.")
    end_line: int = Field(..., description="The end line of the code to be updated.")
    reject: Optional[bool] = Field(None, description="Whether the request should be rejected.")


ACTION_TYPES: dict[str, type[BaseModel] | None] = {
    "SearchCode": Search,
    "IdentifyCode": Identify,
    "DecideRelevance": Decision,
    "PlanToCode": ApplyChange,
    "ClarifyCodeChange": LineNumberClarification,
    "EditCode": None,  # plain text: <replace>…</replace>, stop word </replace>
}
EDIT_STOP_WORDS = ["</replace>"]


def json_mode_instructions(model: type[BaseModel]) -> str:
    """What instructor 1.3.3's JSON mode appends to the system prompt (its dedent() included)."""
    return dedent(
        f"""
                As a genius expert, your task is to understand the content and provide
                the parsed objects in json that match the following json_schema:\n

                {json.dumps(model.model_json_schema(), indent=2)}

                Make sure to return an instance of the JSON, not the schema itself
                """
    )


def extract_json(text: str) -> str:
    """instructor 1.3.3's extract_json_from_codeblock, quirks included (first '{' to last '}')."""
    return text[text.find("{"): text.rfind("}") + 1]


def parse_reply(model: type[BaseModel], text: str) -> BaseModel:
    """Validate a JSON-mode reply as instructor does (strict); raises pydantic's ValidationError."""
    return model.model_validate_json(extract_json(text), strict=True)


def reask_message(error: ValidationError) -> str:
    """instructor 1.3.3's JSON-mode re-ask after a reply that does not validate."""
    return f"Recall the function correctly, fix the errors, exceptions found\n{error}"


def dump_action(action: BaseModel) -> str:
    """An earlier action replayed as the assistant turn (loop.py: model_dump_json(indent=2))."""
    return action.model_dump_json(indent=2)
