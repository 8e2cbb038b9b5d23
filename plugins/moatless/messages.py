"""The request the fork sends for a state (loop.py ``_to_completion_messages`` + instructor JSON mode).

Why separate: these lists are exactly what the model sees and what the per-call SFT rows hold;
keeping their assembly in one small module makes the golden comparison (tests/data/moatless/)
about one function. Earlier actions are replayed as ``model_dump_json(indent=2)``; in JSON mode
instructor appends its schema instructions to the system prompt.
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel

from .fork_actions import dump_action, json_mode_instructions


def completion_messages(system_prompt: str, state_messages: list[dict[str, Any]],
                        action_type: Optional[type[BaseModel]], json_mode: bool = True,
                        model_name: str = "") -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}]
    for message in state_messages:
        if message["role"] == "user":
            messages.append({"role": "user", "content": message["content"]})
            continue
        action = message.get("action")
        if isinstance(action, BaseModel):
            content = dump_action(action)
            if model_name.startswith("deepseek"):
                content = f"```json\n{content}\n```"
        elif action is not None:
            content = str(action)  # a text reply (EditCode)
        else:
            content = message.get("content")
        messages.append({"role": "assistant", "content": content})
    if action_type is not None and json_mode:
        # instructor 1.3.3 process_response.handle_response_model, Mode.JSON
        messages[0]["content"] += f"\n\n{json_mode_instructions(action_type)}"
    return messages
