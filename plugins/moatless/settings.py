"""The settings SWE-Gym ran the Moatless fork with, as defaults, each with where its value comes from.

Why: a model fine-tuned on SWE-Gym's Moatless data, or sampled for RFT with this scaffold, must see
the same limits the fork applied. ``SOURCES`` documents each default (README's settings table is
made from it); ``MoatlessSettings.from_options`` takes the plain option dict the CLI passes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from swegym import SwegymError

FORK = "SWE-Gym/Moatless-Agent-Fork"
FORK_COMMIT = "816c6a2"  # the newest commit of the fork; MoatlessTools v0.0.2 underneath
SINGLE = "scripts/single_sampling.py"

# The fork prices every call as Claude 3.5 Sonnet (loop.py: completion_cost(model=
# "claude-3-5-sonnet-20240620")), whatever model runs: $3 / M prompt, $15 / M completion tokens.
REFERENCE_PRICES = (3.0e-06, 15.0e-06)


@dataclass
class MoatlessSettings:
    """Defaults = what scripts/single_sampling.py passes to the fork's states and loop."""

    max_tokens: int = 2000  # per call
    temperature: float = 1.0
    max_prompt_file_tokens: int = 12000  # IdentifyCode, DecideRelevance, PlanToCode
    max_search_results: int = 75
    provide_initial_context: bool = True
    initial_context_tokens: int = 4000
    initial_search_results: int = 50
    initial_context_spans_per_file: int = 5
    max_retries_with_any_file_context: int = 3
    identify_expand_context: bool = True
    decide_expand_context: bool = True
    finish_after_relevant_count: int = 1
    max_tokens_in_edit_prompt: int = 750
    plan_expand_context_with_related_spans: bool = False
    allow_hallucinated_spans: bool = False
    finish_on_review: bool = True
    clarify_max_tokens_in_edit_prompt: int = 500
    plan_max_iterations: int = 8
    edit_max_iterations: int = 8
    edit_chain_of_thought: bool = False
    edit_show_file_context: bool = False
    edit_max_prompt_file_tokens: int = 8000
    edit_show_initial_message: bool = True
    lint: bool = False  # the fork lints every edit with pylint; swegym: optional, off by default
    max_file_context_tokens: int = 16000
    max_transitions: int = 25
    max_retries: int = 2
    max_cost: float = 1.0  # dollars at REFERENCE_PRICES
    parse_attempts: int = 3  # instructor's max_retries for an unparsable reply
    support_test_files: bool = False
    model_name: str = "openai/yolo-sft"  # only decides prompt variants the fork keyed on the name

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> "MoatlessSettings":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise SwegymError(f"moatless scaffold: unknown option(s) {', '.join(unknown)}")
        settings = cls(**options)
        if settings.max_transitions < 1 or settings.max_retries < 0 or settings.parse_attempts < 1:
            raise SwegymError("moatless scaffold: max_transitions and parse_attempts must be ≥ 1, max_retries ≥ 0")
        return settings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """A call's cost as the fork counts it (reference prices, not the model's)."""
        return prompt_tokens * REFERENCE_PRICES[0] + completion_tokens * REFERENCE_PRICES[1]


# setting -> (fork state / place, source of the value)
SOURCES: dict[str, tuple[str, str]] = {
    "max_tokens": ("every state", f"{SINGLE} global_params"),
    "temperature": ("every state", f"{SINGLE} --temperature default"),
    "max_prompt_file_tokens": ("IdentifyCode, DecideRelevance, PlanToCode", f"{SINGLE} global_params"),
    "max_search_results": ("SearchCode", f"{SINGLE} state_params"),
    "provide_initial_context": ("SearchCode", f"{SINGLE} state_params"),
    "initial_context_tokens": ("SearchCode", "find/search_v2.py messages() (hard-coded 4000; "
                               f"{SINGLE}'s 6000 is never read)"),
    "initial_search_results": ("SearchCode", "find/search_v2.py messages() (hard-coded 50; "
                               f"{SINGLE}'s 100 is never read)"),
    "initial_context_spans_per_file": ("SearchCode", "find/search_v2.py messages() (hard-coded 5)"),
    "max_retries_with_any_file_context": ("SearchCode", "find/search_v2.py default"),
    "identify_expand_context": ("IdentifyCode", f"{SINGLE} state_params (expand_context)"),
    "decide_expand_context": ("DecideRelevance", "find/decide.py default"),
    "finish_after_relevant_count": ("DecideRelevance", f"{SINGLE} state_params"),
    "max_tokens_in_edit_prompt": ("PlanToCode", f"{SINGLE} state_params"),
    "plan_expand_context_with_related_spans": ("PlanToCode", f"{SINGLE} state_params"),
    "allow_hallucinated_spans": ("PlanToCode", "edit/plan.py default"),
    "finish_on_review": ("PlanToCode", f"{SINGLE} state_params"),
    "clarify_max_tokens_in_edit_prompt": ("ClarifyCodeChange", "edit/clarify.py default (single_sampling.py sets "
                                          "750 for PlanToCode only)"),
    "plan_max_iterations": ("PlanToCode", "edit/plan.py default max_iterations"),
    "edit_max_iterations": ("EditCode", "edit/edit.py default max_iterations"),
    "edit_chain_of_thought": ("EditCode", f"{SINGLE} state_params"),
    "edit_show_file_context": ("EditCode", f"{SINGLE} state_params (file context = span + related)"),
    "edit_max_prompt_file_tokens": ("EditCode", f"{SINGLE} state_params"),
    "edit_show_initial_message": ("EditCode", "edit/edit.py default"),
    "lint": ("EditCode", "edit/edit.py verify=True (pylint E/F); swegym default off (knowing difference)"),
    "max_file_context_tokens": ("Workspace", "benchmark/evaluation.py (max_file_context_tokens=16000)"),
    "max_transitions": ("AgenticLoop", "loop.py default"),
    "max_retries": ("AgenticLoop", "loop.py default"),
    "max_cost": ("AgenticLoop", f"{SINGLE} --max_cost default, priced as claude-3-5-sonnet-20240620"),
    "parse_attempts": ("AgenticLoop", "instructor 1.3.3 create_with_completion max_retries default"),
    "support_test_files": ("SearchCode", "find/search_v2.py default"),
    "model_name": ("prompt variants", f"{SINGLE} --model default"),
}


def settings_table() -> str:
    """The README's markdown table: setting, default, where the fork applies it, source."""
    defaults = MoatlessSettings().to_dict()
    rows = ["| setting | default | fork state | source |", "|---|---|---|---|"]
    for name, (where, source) in SOURCES.items():
        rows.append(f"| `{name}` | `{defaults[name]}` | {where} | {source} |")
    return "\n".join(rows)
