"""Patterns of the attacks that hide where they come from or what they do: secrecy towards
the user, exfiltration to URLs, encoded instructions, fake role markers, and text in a
document or tool result addressing the assistant (indirect injection).

Same conventions as ``override``: normalised text, the object of the attack asked for,
English with German, French and Spanish where the phrasing is common.
"""

from __future__ import annotations

import re

from keel.guard.injection.family import GAP, NEAR, Family, family

__all__ = ["COVERT"]

_WHO_WORDS = "user human customer person operator requester"
_WHO = r"(?:the )?(?:user|human|customer|person|operator|requester)\b"
_DE_WHO = "nutzer nutzern nutzers benutzer benutzern benutzers anwender anwendern kunden"
_SECRECY = family(
    0.8,
    (
        _WHO_WORDS + " & not never without don",
        r"\b(?:do not|don't|never|without)\b" + NEAR + r"\b(?:tell|telling|inform|informing"
        r"|notify|notifying|alert|alerting|mention(?:ing)? (?:this |it |anything )?to"
        r"|reveal(?:ing)? (?:this |it )?to|let|letting)\b" + NEAR + r"\b" + _WHO,
    ),
    (
        _WHO_WORDS + " & secret hidden confidential hide",
        r"\b(?:keep (?:this|it) (?:a )?(?:secret|hidden|confidential) from|hide (?:this|it) from)"
        r"\b" + NEAR + r"\b" + _WHO,
    ),
    (
        "user human & not never",
        r"\b(?:user|human) (?:must|should|will|may) (?:not|never) (?:know|find out|see"
        r"|notice|learn|be told)",
    ),
    (
        "silently secretly covertly",
        r"\b(?:silently|secretly|covertly)\b" + GAP + r"\b(?:send|forward|include|append|add"
        r"|insert|exfiltrat\w*|email|transfer|change|do this|visit|call)",
    ),
    (
        "mention hidden",
        r"\b(?:do not|don't|never) mention (?:this|it)(?: to anyone)?\s*(?:[.!]|$)|\bkeep (?:it"
        r"|this) hidden\b",
    ),
    (
        "received got given told",
        r"\b(?:never|do not|don't) (?:reveal|mention|disclose|admit|say) that you (?:received|got"
        r"|were given|were told)\b",
    ),
    (
        "mention reveal disclose acknowledge",
        r"\b(?:do not|don't|never) (?:mention|reveal|disclose|acknowledge) (?:this|these)"
        r" (?:instructions?|message|note|request)\b",
    ),
    (
        _DE_WHO,
        r"\b(?:sag|erzähl|verrat)\w* dem (?:nutzer|benutzer|anwender|kunden)\b"
        + NEAR
        + r"\b(?:nichts|nicht)\b",
    ),
    (
        _DE_WHO,
        r"\bohne (?:den|dass der|die) (?:nutzer|benutzer|anwender|kunden)\w*\b"
        + NEAR
        + r"(?:zu informieren|informiert|zu benachrichtigen|es merkt|etwas merkt|etwas zu"
        r" sagen)",
    ),
    (
        _DE_WHO,
        r"\bdem (?:nutzer|benutzer|anwender)\b" + NEAR + r"\bnichts (?:sagen|erzählen"
        r"|verraten)",
    ),
    (
        "utilisateur",
        r"\bne (?:le |lui |rien |en )*(?:dis|dites|mentionne|révèle|revele|parle)\w*\b"
        + NEAR
        + r"(?:à|a) l'utilisateur",
    ),
    (
        "utilisateur",
        r"\bsans (?:en )?(?:informer|prévenir|prevenir|avertir|le dire à) l'utilisateur",
    ),
    (
        "usuario",
        r"\bno (?:se lo |le |lo |les )*(?:digas|diga|menciones|cuentes|reveles|informes)\b"
        + NEAR
        + r"\bal usuario",
    ),
    ("usuario", r"\bsin (?:informar|avisar|decir(?:le)?|notificar)(?: nada)? al usuario"),
)

# A URL does not end with punctuation; atomic, so a failed match is not retried on every
# shorter prefix of the URL.
_URL = r"https?://(?>[^\s)\"'>]*[^\s)\"'>.,;:!?])"
_CLAUSE = r"(?:[^.!?\n<>]|\.(?=\w))"  # a character of the same sentence; a dot only inside a word
_LOOT = (
    r"(?:conversation|chat(?: history| log)?|messages|history|context|system prompt|passwords?"
    r"|credentials|api keys?|secrets?|tokens?|email address(?:es)?|personal data|user data"
    r"|session|cookies?|the user's \w+|(?:his|her|their) \w+ (?:number|address|details))"
)
# After a URL: what must follow it in the two patterns below, as their prefilters, so the
# engine skips to "http" instead of trying every verb at every position.
_URL_THEN_FOLLOW = (
    _URL + _CLAUSE + r"{0,80}?\b(?:follow|execute|obey|carry out|run) (?:the )?(?:instructions"
    r"|commands|code|steps|it)\b"
)
_URL_THEN_ADD = (
    _URL + r"[^.!?\n]{0,30}?\b(?:append|add|attach|include)\w*\b[^.!?\n]{0,30}?\b" + _LOOT
)
_EXFIL = family(
    0.9,
    (
        "http https",
        r"!\[[^\]\n]{0,60}\]\(\s*https?://[^)\s]*[?&][^)\s]*(?:\{|\[|<|%7b|%5b|\$|data|chat"
        r"|conv|histor|secret|token|key|pass|email|user|session|prompt|msg|summary)",
    ),
    (
        "send post upload forward transmit exfiltrate append attach submit leak email report"
        " include & conversation chat messages history context system passwords password"
        " credentials api key keys secrets secret tokens token address addresses personal"
        " user data session cookie cookies number details",
        r"\b(?:send|post|upload|forward|transmit|exfiltrate|append|attach|submit|leak|email"
        r"|report|include)\b[^.!?\n]{0,60}?\b"
        + _LOOT
        + r"\b"
        + _CLAUSE
        + r"{0,60}?(?:"
        + _URL
        + r"|\bto [\w.+-]+@[\w-]+\.[\w.]+|\bwebhook\b)",
    ),
    (
        "http https & visit fetch open load browse go curl request retrieve download",
        r"\b(?:visit|fetch|open|load|browse to|go to|curl|request|retrieve|download)\b[^.\n]"
        r"{0,30}?" + _URL_THEN_FOLLOW,
        _URL_THEN_FOLLOW,
    ),
    (
        "http https",
        r"https?://[^\s)\"'>?]*\?(?:[^\s)\"'>&]*&)*[\w-]*=\s*(?:\{|\[|<|%7b|%5b)\s*\$?"
        r"(?:conversation|chat|history|data"
        r"|secret|user|email|password|token|key|session|summary|prompt|messages?|context|name)",
    ),
    (
        "http https & append appends appended appending add adds added adding attach attaches"
        " attached attaching include includes included including",
        r"\b(?:to|at) " + _URL_THEN_ADD,
        _URL_THEN_ADD,
    ),
)

_ENCODED = family(
    0.85,
    (
        "decode decipher deobfuscate de obfuscate unscramble",
        r"\b(?:decode|decipher|de-?obfuscate|unscramble)\b[^.!?\n]{0,60}?\b(?:and|then)\b"
        r"[^.!?\n]{0,20}?\b(?:follow|execute|obey|do what it says|carry out|act on|run|apply)\b",
    ),
    (
        "base64 hex rot13 encoded obfuscated",
        r"\b(?:execute|follow|obey|run)\b[^.!?\n]{0,30}?\b(?:base64|hex|rot13|encoded"
        r"|obfuscated)\b[^.!?\n]{0,20}?\b(?:instructions?|commands?|text|message|payload)",
    ),
    (
        "und",
        r"\b(?:dekodier\w*|entschlüssel\w*)\b[^.!?\n]{0,60}?\bund\b[^.!?\n]{0,20}?\b(?:befolg\w*"
        r"|führ\w* \w* aus|ausführ\w*)",
    ),
    (
        "et",
        r"\b(?:décode|decode|déchiffre|dechiffre)[sz]?\b[^.!?\n]{0,60}?\bet\b[^.!?\n]{0,20}?"
        r"\b(?:suis|suivez|exécute|execute|exécutez|obéis|applique)",
    ),
    (
        "y",
        r"\b(?:decodifica|descifra|decodifique)\w*\b[^.!?\n]{0,60}?\by\b[^.!?\n]{0,20}?"
        r"\b(?:sigue|ejecuta|obedece|cumple|haz lo que dice)",
    ),
)

_ROLE_WORDS = "system sys admin administrator developer assistant"
_ROLE = r"(?:system|sys|admin|administrator|developer|assistant)"
_FAKE_ROLE = family(
    0.85,
    (
        "im_start system endoftext im_end eot_id start_header_id",
        r"<\|im_start\|>\s*(?:system|assistant|developer)|<\|(?:system|endoftext|im_end|eot_id"
        r"|start_header_id)\|>",
    ),
    (
        "inst sys system admin developer sys_prompt system_prompt system_message admin_prompt"
        " admin_message developer_prompt developer_message",
        r"\[/?inst\]|<</?sys>>|\[/?(?:system|admin)(?: message| prompt)?\]"
        r"|</?(?:system|sys|admin|developer)(?:_prompt|_message|-prompt)?>",
    ),
    (
        _ROLE_WORDS + " & you the ai ignore from new your always never do don must respond reply"
        " answer override",
        r"(?:^|\n)\s*(?:#{1,6}\s*|\*\*|\[|-{2,}\s*|={2,}\s*|>\s*)?"
        + _ROLE
        + r"(?: prompt| message| note| override| instructions?| update)?\s*(?:\*\*)?\s*(?:\]|:)"
        r"\s*(?:\*\*)?\s*(?:you\b|the (?:assistant|ai|model)\b|ai\b|ignore|from now|new instruc"
        r"|your\b|always\b|never\b|do not\b|don't\b|must\b|respond\b|reply\b|answer\b|override)",
    ),
    (
        "assistant ai & human user",
        r"(?:^|\n)\s*(?:human|user)\s*:[^\n]{0,300}\n\s*(?:assistant|ai)\s*:\s*(?:sure|certainly"
        r"|of course|okay|ok)[,!.]? (?:here|i will|i'll)",
    ),
    (
        "system assistant admin developer ai",
        r"<!--\s*(?:system|assistant|admin|developer|ai)\s*:",
    ),
    (
        "end",
        r"\bend of (?:the )?(?:user input|input|document|context|email|text|file|data"
        r"|conversation|prompt|instructions)\b[^\n]{0,10}\n*\s*(?:[#=\-*\[<]+\s*)?(?:system"
        r"|assistant|new instruc|admin|developer)\b",
    ),
)


def _punctuation_after(names: str, marks: str) -> str:
    """A prefilter for "<name> <mark>" (one optional space): it scans for the rare marks and
    looks behind them, instead of trying every name at every position."""
    behind = "|".join(f"(?<={n}{gap}.)" for n in names.split() for gap in ("", " "))
    return f"[{re.escape(marks)}](?:{behind})"


_AI_WORDS = (
    "ai llm llms language model models assistant assistants chatbot chatbots bot bots agent"
    " agents gpt chatgpt claude copilot gemini"
)
_AI = (
    r"(?:ai|llm|llms|large language models?|language models?|assistants?|ai assistants?"
    r"|chatbots?|bots?|ai agents?|agents?|ai models?|models?|gpt|chatgpt|claude|copilot|gemini)"
)
_NOT_AI = (
    r"(?!\s*(?:researchers?|engineers?|developers?|enthusiasts?|compan(?:y|ies)|startups?|teams?"
    r"|students?|practitioners?|professionals?|experts?|managers?|directors?|professors?|coach"
    r"|editors?|teachers?|trainers?|train|numbers?|years?)\b)"
)
_ADDRESS = family(
    0.75,
    (
        _AI_WORDS + " & note message instruction instructions attention important reminder notice"
        " memo",
        r"\b(?:note|message|instructions?|attention|important|reminder|notice|memo)\s+(?:to|for)"
        r"\s+(?:the |any |all |every )?" + _AI + r"\b" + _NOT_AI,
    ),
    (_AI_WORDS + " & if", r"\bif you (?:are|'re) (?:an? |the |any )?" + _AI + r"\b" + _NOT_AI),
    (
        _AI_WORDS + " & reading processing summarizing summarising visiting parsing crawling"
        " indexing browsing analyzing analysing scanning",
        r"\b" + _AI + r"\s+(?:agents?\s+)?(?:reading|processing|summari[sz]ing|visiting|parsing"
        r"|crawling|indexing|browsing|analy[sz]ing|scanning)\s+(?:this|these)\b",
    ),
    (
        "summarizing summarising summarize summarise process processing read reading analyze"
        " analyse analyzing analysing answering",
        r"\b(?:when|while|before|after) (?:you )?(?:summari[sz]ing|summari[sz]e|process(?:ing)?"
        r"|read(?:ing)?|analy[sz](?:e|ing)|answering questions about) this (?:page|document"
        r"|email|text|site|website|file|review|resume|cv|content|message|listing|repository"
        r"|repo|pdf)\b[^.\n]{0,40}?\b(?:you must|you should|you will|make sure|always|be sure"
        r"|do not|don't|never|tell|say|include|ignore|respond|reply|output)",
    ),
    (
        "attention hey dear hello hi & ai llm chatgpt gpt claude copilot gemini assistant agent"
        " language chatbot bot model",
        r"\b(?:attention|hey|dear|hello|hi)\s*,?\s*(?:ai|llm|chatgpt|gpt|claude|copilot|gemini"
        r"|ai assistant|ai agent|language model|assistant|chatbot|bot|model|agent)\b\s*[:,!.]",
        _punctuation_after(
            "ai llm chatgpt gpt claude copilot gemini assistant chatbot bot model agent", ":,!."
        ),
    ),
    (
        "assistant ai llm chatbot model bot agent & before must should will now always never"
        " ignore disregard override forget wants not don instead task skip listen",
        r"(?:^|[\n.!?:;(#>-]\s*)(?:the )?(?:ai |automated )?(?:assistant|ai|llm|chatbot|model|bot"
        r"|agent)\s*[,:]" + GAP + r"\b(?:before (?:you )?(?:answer|reply|respond)|you must"
        r"|you should|you will|from now on|always|never|ignore|disregard|override|forget"
        r"|wants you|do not|don't|instead|your new task|skip|listen (?:carefully|up))\b",
        _punctuation_after("assistant ai llm chatbot model bot agent", ",:"),
    ),
    (
        _AI_WORDS + " & whichever whatever any every all & reads read reading processes"
        " processing sees parses summarizes summarises",
        r"\b(?:to|for) (?:whichever|whatever|any|every|the|all) (?:ai|llm|assistant|model|bot"
        r"|chatbot|agent|ai agent|language model)s? (?:that )?(?:reads?|reading|processes"
        r"|processing|sees|parses|summari[sz]es)\b",
    ),
    (
        _AI_WORDS + " & to for",
        r"\b(?:to|for) the (?:ai|llm|ai agent|ai model|language model|chatbot|bot|assistant)\s*:",
        r"the (?:ai|llm|ai agent|ai model|language model|chatbot|bot|assistant)\s*:",
    ),
    (
        "automated",
        r"\bautomated (?:readers?|tools?|agents?|systems?|assistants?)\b\s*[:,]",
    ),
    (
        "sprachmodell ki assistenten chatbot",
        r"\ban (?:das sprachmodell|die ki|den (?:ki-)?assistenten|den chatbot)\b\s*[:,]",
    ),
    (
        "hinweis",
        r"\bhinweis (?:an|für) (?:den |die |alle )?(?:ki|ki-assistent\w*|assistent\w*"
        r"|sprachmodell|chatbot|ki-modell)",
    ),
    (
        "bist",
        r"\bwenn du (?:eine|ein|der|die) (?:ki|sprachmodell|ki-modell|chatbot|ki-assistent"
        r"|assistent)\b bist",
    ),
    (
        "note",
        r"\bnote (?:à|a|pour) (?:l'|les? |toute )?(?:ia|assistant(?:e)? (?:ia|virtuel)|modèle"
        r"|modele|chatbot|llm)\b",
    ),
    (
        "si",
        r"\bsi (?:tu es|vous êtes|vous etes) (?:une |un )?(?:ia|intelligence artificielle"
        r"|modèle de langage|assistant ia)\b",
    ),
    (
        "nota",
        r"\bnota (?:para|al?) (?:el |la |los |cualquier )?(?:ia|asistente(?: de ia)?|modelo"
        r"|chatbot|llm)\b",
    ),
    (
        "eres",
        r"\bsi eres (?:una |un )?(?:ia|inteligencia artificial|modelo de lenguaje|asistente de"
        r" ia)\b",
    ),
)

COVERT: dict[str, Family] = {
    "secrecy": _SECRECY,
    "exfiltration": _EXFIL,
    "encoded_instructions": _ENCODED,
    "fake_role": _FAKE_ROLE,
    "addressing_assistant": _ADDRESS,
}
