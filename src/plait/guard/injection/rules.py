"""Prompt-injection rules: phrases that try to override the instructions, extract the system prompt, switch
the model into an unrestricted persona, smuggle chat markup or code, or steer the answer from inside a document; in
English and Chinese. A rule names the tactic it saw, which is what a flag or an error reports."""

from __future__ import annotations

import re

_I = re.IGNORECASE
_PREVIOUS = r"(?:all\s+|any\s+|the\s+|your\s+|of\s+)*(?:previous|prior|above|preceding|earlier|original|initial|system)"
_ORDERS = r"(?:instructions?|prompts?|rules?|directives?|orders?|guidelines?|context|messages?|commands?)"

RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "instruction_override",
        re.compile(
            rf"\b(?:ignore|disregard|forget|override|bypass|skip|do\s+not\s+(?:follow|listen\s+to|obey))\b[^.\n]{{0,30}}?"
            rf"{_PREVIOUS}\s+{_ORDERS}|\bnew\s+(?:instructions?|rules?)\s*:|\bfrom\s+now\s+on,?\s+(?:you|ignore)",
            _I,
        ),
    ),
    (
        "instruction_override",
        re.compile(
            r"(?:忽略|无视|忘记|忘掉|不要理会|覆盖)(?:掉)?(?:你|之前|以上|上面|前面|先前|所有|一切|原来|原有|系统)"
            r"[^。\n]{0,12}?(?:指令|指示|提示|规则|要求|设定|命令|限制)"
        ),
    ),
    (
        "prompt_extraction",
        re.compile(
            r"\b(?:reveal|print|repeat|show|output|display|tell\s+me|write\s+out|leak|spell\s+out)\b[^.\n]{0,30}?"
            r"\b(?:system\s+prompt|initial\s+(?:prompt|instructions?)|(?:your|the|above|previous|hidden|secret)\s+"
            r"(?:instructions?|prompt|rules?|password|secret\s+word))",
            _I,
        ),
    ),
    (
        "prompt_extraction",
        re.compile(
            r"(?:输出|打印|重复|显示|泄露|告诉我|给我看)[^。\n]{0,10}?(?:系统提示|系统指令|你的(?:指令|提示词|设定|规则))"
        ),
    ),
    (
        "role_play_jailbreak",
        re.compile(
            r"\b(?:DAN|do\s+anything\s+now|developer\s+mode|jailbroken|jailbreak\s+mode|god\s+mode|no\s+(?:ethical|moral)\s+"
            r"(?:guidelines|restrictions|limits)|without\s+(?:any\s+)?(?:restrictions|filters|censorship|limitations))\b"
            r"|\b(?:pretend|act\s+as\s+if)\b[^.\n]{0,40}\b(?:no|without|free\s+from)\s+(?:rules|restrictions|limits|filters)",
            _I,
        ),
    ),
    (
        "role_play_jailbreak",
        re.compile(r"(?:开发者模式|越狱|不受(?:任何)?(?:限制|约束)|没有任何(?:限制|约束|道德)|扮演一个没有)"),
    ),
    (
        "markup_smuggling",
        re.compile(
            r"<\|(?:im_start|im_end|system|endoftext|start_header_id)\|>|\[/?INST\]|<</?SYS>>|^\s*#{2,}\s*(?:system|instruction)"
            r"|^\s*(?:system|assistant)\s*:|</?(?:system|instructions?)>|%%%\s*end|\bEND\s+OF\s+(?:USER\s+)?(?:INPUT|PROMPT)\b",
            _I | re.MULTILINE,
        ),
    ),
    (
        "answer_steering",
        re.compile(
            r"\b(?:in|to|into|within|throughout)\s+your\s+(?:response|answer|reply|output|code|solution|implementation|codebase)\b"
            r"|\byour\s+(?:response|answer|reply|message)(?:'s)?\s+(?:in|into|to|using|with|backwards?|character)"
            r"|\b(?:add|include|insert|embed|integrate|incorporate|blend|feature|append)\b[^.\n]{0,40}?\b(?:following|below|"
            r"subsequent)\s+(?:code|snippet|line|sentence|text|link)\b[^.\n]{0,40}?\byour\b"
            r"|\b(?:enhance|enrich|improve|augment|spice\s+up|elevate|embellish)\s+your\s+(?:response|answer|reply|message)\b"
            r"|\b(?:reply|respond|answer)\s+(?:using|in|with)\s+(?:base\s?\d+|hex(?:adecimal)?|morse|rot-?13|binary)\b"
            r"|\b(?:invert|reverse)\b[^.\n]{0,30}\byour\s+(?:message|response|answer|reply)\b",
            _I,
        ),
    ),
    (
        "code_smuggling",  # a snippet to be slipped into the code the model writes
        re.compile(
            r"\b(?:following|below|subsequent|this)\s+code\s+(?:snippet|block|section|excerpt|fragment|segment)\b"
            r"[^\n]{0,80}?\byour\b|\byour\b[^\n]{0,60}?\b(?:following|below|subsequent)\s+code\s+"
            r"(?:snippet|block|section|excerpt|fragment|segment)\b",
            _I,
        ),
    ),
    (
        "answer_steering",
        re.compile(r"(?:在|于)你的(?:回答|回复|答案|输出|代码)中|把你的(?:回答|回复|答案)(?:翻译|编码|改写|倒)"),
    ),
)


def matches(text: str) -> list[str]:
    """The tactics whose rules match ``text``, each once, in rule order."""
    found: list[str] = []
    for name, pattern in RULES:
        if name not in found and pattern.search(text):
            found.append(name)
    return found
