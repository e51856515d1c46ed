"""Prompt-injection rules: phrases that try to override the instructions, extract the system prompt, switch
the model into an unrestricted persona, smuggle chat markup or code, steer the answer from inside a document, or
speak to the model reading a document; in English and Chinese, on the normalised text (`normalise`). A rule names
the tactic it saw, which is what a flag or an error reports."""

from __future__ import annotations

import re

from plait.guard.injection.normalise import normalise

_I = re.IGNORECASE
_PREVIOUS = r"(?:all\s+|any\s+|the\s+|your\s+|of\s+)*(?:previous|prior|above|preceding|earlier|original|initial|system)"
_ORDERS = r"(?:instructions?|prompts?|rules?|directives?|orders?|guidelines?|context|messages?|commands?)"
_ANSWER = r"(?:responses?|answers?|repl(?:y|ies)|outputs?|messages?)\b"
# encodings and ciphers an answer can be turned into, so that a filter or the user cannot read it
_ENCODINGS = (
    r"(?:base\s?\d+|hex(?:adecimal)?|morse|rot-?\d+|binary|caesar|atbash|vigen[eè]re|leetspeak"
    r"|(?:substitution|shift|caesar)\s+cipher)\b"
)
# the model reading a document, named in the third person: a document's text addressing it is an injection
_MODEL = r"(?:AI|A\.I\.|LLMs?|GPTs?|chat\s?bots?|(?:AI|virtual|digital)\s+assistants?|(?:large\s+)?language\s+models?)"
_READING = r"(?:reading|summari[sz]|processing|parsing|analy[sz]|crawling|scraping|indexing|answering|asked)"

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
            rf"|\b(?:reply|respond|answer)\s+(?:using|in|with)\s+(?:an?\s+|the\s+)?{_ENCODINGS}"
            rf"|\b(?:use|using|apply|with)\b[^.\n]{{0,40}}?{_ENCODINGS}[^.\n]{{0,40}}?\byour\s+{_ANSWER}"
            rf"|\b(?:encrypt|encode|encipher|scramble|obfuscate)\s+(?:all\s+|each\s+|every\s+)?(?:of\s+)?your\s+{_ANSWER}"
            r"|\b(?:invert|reverse)\b[^.\n]{0,30}\byour\s+(?:message|response|answer|reply)\b",
            _I,
        ),
    ),
    (
        "addressed_to_model",  # text in a document that speaks to the model reading it
        re.compile(
            rf"\b(?:(?:note|message|instructions?|notice|reminder|important)\s+(?:to|for)|attention)\s+"
            rf"(?:the\s+|any\s+|all\s+|every\s+)?{_MODEL}\s*(?::|,?\s+(?:that\s+(?:is|are)\s+)?{_READING})"
            rf"|\bif\s+you\s+are\s+(?:an?\s+)?{_MODEL}\b[^.\n]{{0,40}}?\b{_READING}"
            rf"|\b{_MODEL}\s+(?:that\s+(?:is|are)\s+|who\s+(?:is|are)\s+)?{_READING}\w*\s+this\s+"
            r"(?:page|document|e-?mail|text|article|review|file|message|content|site|post|table|code|repository)\b"
            rf"|<!--[^>]{{0,40}}?\b{_MODEL}\b",
            _I,
        ),
    ),
    (
        "addressed_to_model",
        re.compile(
            r"如果你是(?:一个)?(?:AI|人工智能|语言模型|大模型|AI助手|智能助手)[^。\n]{0,20}?(?:阅读|读到|看到|处理|总结|分析)"
            r"|(?:给|致)(?:正在)?(?:阅读|处理|总结|分析)[^。\n]{0,12}?(?:AI|人工智能|模型|助手)"
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
    text = normalise(text)
    for name, pattern in RULES:
        if name not in found and pattern.search(text):
            found.append(name)
    return found
