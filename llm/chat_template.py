"""The chat template that turns messages into the model's prompt text.

The GGUF's own `tokenizer.chat_template` (a Jinja template) is used when
present, rendered by llama-cpp-python's formatter, so the prompt is exactly
what `Llama.create_chat_completion` would build. Without one, llama-cpp-python
silently uses the Llama-2 format, which is wrong for most current models;
here the fallback is chosen from the special tokens the vocabulary really has
(ChatML, Llama 3, Gemma, [INST]), and a plain-text layout for base models.

Templates that refuse a system message (Gemma's, some Mistral ones) get the
system prompt folded into the first user message instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from llm.types import Message

CHATML = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA3 = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)
GEMMA = (
    "{{ bos_token }}{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
)
INST = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ ' ' + message['content'] + eos_token }}{% endif %}{% endfor %}"
)
PLAIN = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ '### User:\\n' + message['content'] + '\\n\\n' }}"
    "{% else %}{{ '### Assistant:\\n' + message['content'] + '\\n\\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ '### Assistant:\\n' }}{% endif %}"
)

# (name, template, tokens that must all be single special tokens, fold system, stop strings)
FALLBACKS: tuple[tuple[str, str, tuple[str, ...], bool, tuple[str, ...]], ...] = (
    ("ChatML", CHATML, ("<|im_start|>", "<|im_end|>"), False, ("<|im_end|>",)),
    ("Llama 3", LLAMA3, ("<|start_header_id|>", "<|eot_id|>"), False, ("<|eot_id|>",)),
    ("Gemma", GEMMA, ("<start_of_turn>", "<end_of_turn>"), True, ("<end_of_turn>",)),
    ("[INST]", INST, ("[INST]", "[/INST]"), True, ()),
)
PLAIN_STOP = ("\n### User:", "\n### Assistant:")
_SYSTEM_PROBE = "system-probe-7f3a"
_PROBE = (
    Message("system", _SYSTEM_PROBE),
    Message("user", "u"),
    Message("assistant", "a"),
    Message("user", "v"),
)


@dataclass(frozen=True)
class ChatTemplate:
    """A renderer for one model's chat format.

    >>> t = ChatTemplate.from_jinja(CHATML, source="test", bos_token="", eos_token="<|im_end|>")
    >>> print(t.render([Message("system", "Be brief."), Message("user", "Hi")]))
    <|im_start|>system
    Be brief.<|im_end|>
    <|im_start|>user
    Hi<|im_end|>
    <|im_start|>assistant
    <BLANKLINE>
    """

    source: str  # shown in ModelInfo: "GGUF metadata" or "fallback: ChatML (...)"
    format: Callable[..., Any]  # llama-cpp-python's Jinja2ChatFormatter
    fold_system: bool = False
    stop: tuple[str, ...] = ()

    @classmethod
    def from_jinja(
        cls,
        template: str,
        *,
        source: str,
        bos_token: str,
        eos_token: str,
        stop: tuple[str, ...] = (),
        fold_system: bool | None = None,
    ) -> ChatTemplate:
        """Compile `template`; `fold_system=None` finds out whether it accepts a system role."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)
        if fold_system is None:
            try:
                # Some templates drop a system message silently instead of refusing it.
                fold_system = _SYSTEM_PROBE not in cls(source, formatter).render(_PROBE)
            except Exception:  # Jinja's raise_exception: "System role not supported" and kin
                fold_system = True
            if fold_system:
                source += ", system prompt folded into the first message"
        chosen = cls(source, formatter, fold_system, stop)
        chosen.render(_PROBE)  # a template that fails both ways raises here
        return chosen

    def render(self, messages: Sequence[Message]) -> str:
        """Prompt text, ending with the cue for the assistant's turn."""
        dicts = [m.to_dict() for m in messages]
        if self.fold_system and dicts and dicts[0]["role"] == "system":
            system = dicts.pop(0)["content"]
            if dicts:
                dicts[0] = {**dicts[0], "content": f"{system}\n\n{dicts[0]['content']}"}
            else:
                dicts = [{"role": "user", "content": system}]
        return self.format(messages=dicts).prompt


def choose_template(
    metadata_template: str | None,
    *,
    bos_token: str,
    eos_token: str,
    is_special: Callable[[str], bool],
) -> ChatTemplate:
    """The GGUF's template if it has a usable one, else a fallback its special tokens support.

    `is_special(text)` tells whether `text` is a single special token of the vocabulary.
    """
    why = "the GGUF has no chat template"
    if metadata_template:
        try:
            return ChatTemplate.from_jinja(
                metadata_template, source="GGUF metadata", bos_token=bos_token, eos_token=eos_token
            )
        except Exception as exc:  # a template this Jinja cannot run: use a fallback, say why
            why = f"the GGUF's chat template fails: {str(exc)[:80]}"
    name, template, fold, stop = "plain text", PLAIN, False, PLAIN_STOP
    for fallback in FALLBACKS:
        if all(is_special(marker) for marker in fallback[2]):
            name, template, _markers, fold, stop = fallback
            break
    return ChatTemplate.from_jinja(
        template,
        source=f"fallback: {name} ({why})",
        bos_token=bos_token,
        eos_token=eos_token,
        stop=stop,
        fold_system=fold,
    )
