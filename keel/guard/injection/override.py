"""Patterns of the attacks that try to take the model over: ignore your instructions, reveal
them, become someone else, follow new ones, play a game without rules.

Patterns run on normalised text (see ``text``): lower case, single spaces, line breaks kept.
English comes with German, French and Spanish phrasings of the commonest attacks.
They ask for the *object* of an attack, not just its verb: "ignore the typo in my last
message" and "act as a travel agent" are everyday requests, "ignore your previous
instructions" and "act as an AI without restrictions" are not.
"""

from __future__ import annotations

from keel.guard.injection.family import GAP, NEAR, Family, family

__all__ = ["OVERRIDE"]

_EN_RULES = (
    "instruction instructions direction directions rules guidelines prompt prompts directive"
    " directives commands orders programming guardrails restrictions policy policies"
    " constraints context"
)
_DE_RULES = "anweisung anweisungen regeln instruktion instruktionen vorgaben richtlinien befehle"
_FR_RULES = "instruction instructions consigne consignes règles directive directives"
_ES_RULES = "instrucciones reglas indicaciones directrices órdenes"
_IGNORE = family(
    0.95,
    (
        "ignore disregard forget skip override bypass neglect abandon drop & " + _EN_RULES,
        r"\b(?:ignore|disregard|forget|skip|override|bypass|neglect|abandon|drop)\b"
        + GAP
        + r"\b(?:previous|prior|above|earlier|preceding|initial|original|system|your|all|any)\b"
        + NEAR
        + r"\b(?:instructions?|directions?|rules|guidelines"
        r"|prompts?|directives?|commands|orders|programming|guardrails|restrictions"
        r"|polic(?:y|ies)|constraints|context)\b",
    ),
    (
        "ignore disregard forget & above previous prior",
        r"\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+)?(?:of\s+)?(?:the\s+|that\s+)?"
        r"(?:above|previous|prior)\s*(?:[,;:!]|\.|and\b|then\b|instead\b|-)",
    ),
    (
        "forget",
        r"\bforget (?:everything|all)(?: (?:that )?(?:you were|you've been|you have been|i) "
        r"(?:told|said|taught))?(?: before| above| so far| until now)",
    ),
    (
        "stop quit & instructions rules guidelines programming",
        r"\b(?:stop|quit) (?:following|obeying) (?:your|the|all|any)\b"
        + NEAR
        + r"\b(?:instructions|rules|guidelines|programming)\b",
    ),
    (
        "follow obey & instructions rules guidelines",
        r"\b(?:do not|don't) (?:follow|obey) (?:your|the|any)\b"
        + NEAR
        + r"\b(?:instructions|rules|guidelines)\b"
        + NEAR
        + r"\b(?:anymore|any longer|now)\b",
    ),
    (
        "instructions rules guidelines & cancelled canceled void revoked replaced null suspended"
        " lifted longer",
        r"\byour (?:previous |prior |original |old )?(?:instructions|rules|guidelines) (?:are"
        r"|have been|were) (?:cancell?ed|void|revoked|replaced|null|suspended|lifted|no longer"
        r" valid)",
    ),
    (
        _DE_RULES,
        r"\b(?:ignorier\w*|vergiss|vergessen|missachte\w*|übergeh\w*)\b"
        + GAP
        + r"\b(?:vorherig\w*|bisherig\w*|vorangegangen\w*|obig\w*|alle\w*|deine\w*"
        r"|ursprünglich\w*|früher\w*)\b" + NEAR + r"\b(?:anweisung\w*|regeln|instruktion\w*"
        r"|vorgaben|richtlinien|befehle)\b",
    ),
    (
        "ignore disregard forget override & user users",
        r"\b(?:ignore|disregard|forget|override)\b (?:what )?(?:the |this )?(?:user's|users'|user)"
        r" (?:request|question|instructions|prompt|message|asked|wants|said)",
    ),
    ("vergiss", r"\bvergiss alles,? was (?:dir|man dir)\b"),
    (
        "nutzers benutzers anwenders",
        r"\b(?:ignorier\w*|vergiss|missachte\w*)\b (?:die |der )?(?:anfrage|bitte|frage|anweisung)"
        r" des (?:nutzers|benutzers|anwenders)",
    ),
    (
        "utilisateur",
        r"\b(?:ignore[zs]?|oublie[zs]?)\b (?:la |les )?(?:demande|question|consigne)s? de"
        r" l'utilisateur",
    ),
    (
        "usuario",
        r"\b(?:ignora\w*|olvida\w*)\b (?:la |las )?(?:petición|peticion|solicitud|pregunta)e?s?"
        r" del usuario",
    ),
    (
        _FR_RULES,
        r"\b(?:ignore[zs]?|oublie[zs]?|ne tiens pas compte d\w*|fais abstraction d\w*)\b"
        + GAP
        + r"\b(?:instructions?|consignes?|règles|directives?)\b"
        + NEAR
        + r"(?:\b(?:précédentes?|precedentes?|antérieures?|anterieures?|initiales?|d'avant)\b"
        r"|ci-dessus)",
    ),
    (
        _FR_RULES,
        r"\b(?:ignore[zs]?|oublie[zs]?)\b (?:toutes |tous )?(?:tes|vos) (?:instructions"
        r"|consignes|règles)",
    ),
    ("oublie oubliez oublies", r"\boublie[zs]? tout ce qu(?:'on|e l'on|e tu) "),
    (
        _ES_RULES,
        r"\b(?:ignora\w*|olvida\w*|haz caso omiso d\w*|omite|descarta)\b"
        + GAP
        + r"\b(?:instrucciones|reglas|indicaciones|directrices|órdenes)\b"
        + NEAR
        + r"\b(?:anteriores|previas|iniciales|originales|de antes)\b",
    ),
    (
        _ES_RULES,
        r"\b(?:ignora\w*|olvida\w*)\b (?:todas )?(?:tus|sus) (?:instrucciones|reglas"
        r"|indicaciones)",
    ),
    ("olvida", r"\bolvida todo lo que (?:te|se te) (?:dijeron|han dicho|dije)"),
)

_OWN = r"(?:your|the|its)\s+(?:(?:full|entire|complete|exact|original|initial|hidden|secret)\s+)*"
_LEAK = family(
    0.85,
    (
        "reveal print show display output repeat tell give share leak dump paste recite write"
        " spell list expose copy & system initial original hidden secret confidential developer"
        " preprompt pre instructions",
        r"\b(?:reveal|print|show|display|output|repeat|tell|give|share|leak|dump|paste|recite"
        r"|write out|spell out|list|expose|copy)\b"
        + GAP
        + _OWN
        + r"(?:system prompt|system message|(?:initial|original|hidden|secret|confidential)"
        r" (?:prompt|instructions|rules)|developer (?:message|prompt)|pre-?prompt|instructions"
        r" (?:you were|you've been|you have been) given)",
    ),
    (
        "what & system initial original hidden secret",
        r"\bwhat (?:is|are|were|was) (?:your|the) (?:system prompt|(?:initial|original|hidden"
        r"|secret) (?:prompt|instructions))\b",
    ),
    (
        "repeat & above before far",
        r"\brepeat\b[^.!?\n]{0,30}\b(?:above|before this|so far)\b[^.!?\n]{0,30}"
        r"(?:starting|beginning|verbatim|word for word)",
    ),
    (
        "print output repeat show & instructions rules guidelines",
        r"\b(?:print|output|repeat|show) your (?:instructions|rules|guidelines)(?: (?:verbatim"
        r"|word for word|in full|exactly))",
    ),
    (
        "systemprompt systemprompts system systemnachricht anweisungen",
        r"\b(?:zeig\w*|gib|nenne|verrat\w*|wiederhol\w*)\b"
        + GAP
        + r"\b(?:systemprompt|system-prompt|systemnachricht|(?:ursprünglichen|anfänglichen"
        r"|versteckten|geheimen) anweisungen)",
    ),
    (
        "prompt message instructions & système systeme cachées cachees initiales secrètes"
        " secretes origine",
        r"\b(?:affiche|montre|révèle|revele|répète|repete|donne|dévoile|devoile|écris)\w*\b"
        + GAP
        + r"(?:prompt (?:système|systeme|du système|du systeme)|message (?:système"
        r"|systeme)|instructions (?:cachées|cachees|initiales|secrètes|secretes|d'origine))",
    ),
    (
        "prompt mensaje instrucciones & sistema ocultas iniciales secretas originales",
        r"\b(?:muestra|revela|repite|dime|imprime|enseña|escribe)\w*\b"
        + GAP
        + r"(?:prompt del sistema|mensaje del sistema|instrucciones (?:ocultas|iniciales"
        r"|secretas|originales))",
    ),
)

_FREE = (
    r"(?:\bdan\b|unrestricted|unfiltered|uncensored|jailbroken|(?:without|no) (?:any )?(?:rules"
    r"|restrictions|limits|limitations|filters|guidelines|ethic\w*|moral\w*|censorship|content"
    r" polic\w*)|free (?:from|of) (?:all |any )?(?:rules|restrictions|polic\w*)|never refuses?"
    r"|an evil)"
)
_FREE_WORDS = "dan unrestricted unfiltered uncensored jailbroken without no free never evil"
_PERSONA = family(
    0.9,
    ("now longer & " + _FREE_WORDS, r"\byou are (?:now|no longer)\b" + GAP + _FREE),
    ("anything", r"\bdo anything now\b"),
    ("mode", r"\b(?:dan|stan|dude|aim|god|evil|chaos|unrestricted|uncensored|unfiltered) mode\b"),
    (
        "jailbreak jailbroken",
        r"\bjailbreak (?:mode|enabled|activated|successful)\b|\byou(?: have|'ve)? been jailbroken",
    ),
    (
        "mode",
        r"\bdeveloper mode (?:enabled|activated|output)|\byou(?: are|'re) (?:now )?in developer"
        r" mode\b",
    ),
    (
        "mode",
        r"\b(?:enable|activate|enter|switch to)\w* developer mode\b[^.\n]{0,60}\b(?:polic"
        r"|restrict|filter|censor|rules|refus)",
    ),
    (
        "act behave respond answer operate & " + _FREE_WORDS,
        r"\b(?:act|behave|respond|answer|operate) as (?:if you (?:were|are) )?" + GAP + _FREE,
    ),
    ("now & " + _FREE_WORDS, r"\bfrom now on\b" + GAP + _FREE),
    (
        "bound restricted limited constrained & rules policy policies guidelines openai"
        " anthropic restrictions filters programming",
        r"\b(?:no longer|not) (?:bound|restricted|limited|constrained) by\b"
        + GAP
        + r"(?:rules|polic\w*|guidelines|openai|anthropic|restrictions|filters|programming)",
    ),
    (
        "jetzt sofort nun",
        r"\bdu bist (?:jetzt|ab sofort|nun)\b" + GAP + r"(?:\bdan\b|ohne (?:jegliche )?"
        r"(?:einschränkungen|regeln|filter|grenzen)|uneingeschränkt|unzensiert)",
    ),
    (
        "jetzt sofort nun",
        r"\b(?:ab sofort|von nun an|ab jetzt)\b" + GAP + r"(?:keine regeln|ohne (?:regeln"
        r"|einschränkungen|filter))",
    ),
    (
        "maintenant désormais desormais",
        r"\btu es (?:maintenant|désormais|desormais)\b" + GAP + r"(?:\bdan\b|sans (?:aucune )?"
        r"(?:restriction|règle|regle|filtre|limite)s?|non censuré)",
    ),
    (
        "maintenant désormais dorénavant",
        r"\b(?:à partir de maintenant|a partir de maintenant|désormais|dorénavant)\b"
        + GAP
        + r"(?:plus (?:aucune|de) (?:règle|regle|restriction|limite)s?|sans (?:aucune )?"
        r"(?:règle|regle|restriction|limite|filtre)s?)",
    ),
    (
        "eres",
        r"\b(?:ahora eres|a partir de ahora eres)\b" + GAP + r"(?:\bdan\b|sin (?:restricciones"
        r"|reglas|filtros|límites|limites)|sin censura)",
    ),
    (
        "ahora",
        r"\b(?:a partir de ahora|desde ahora)\b" + GAP + r"(?:no tienes (?:reglas|restricciones"
        r"|límites|limites)|sin (?:reglas|restricciones|filtros|límites))",
    ),
)

_NEW = family(
    0.75,
    (
        "new updated revised real actual true additional overriding priority & instruction"
        " instructions directive directives orders rules",
        r"\b(?:new|updated|revised|real|actual|true|additional|overriding|priority) (?:system )?"
        r"(?:instructions?|directives?|orders|rules)\s*(?::|-|follow\b|are as follows|below:)",
    ),
    (
        "real actual true new & task instructions job goal objective purpose mission",
        r"\byour (?:real|actual|true|new) (?:task|instructions|job|goal|objective|purpose"
        r"|mission) (?:is|are|now is)\b",
    ),
    (
        "following",
        r"\b(?:the )?following (?:instructions|directives|rules) (?:supersede|override|replace"
        r"|take precedence)",
    ),
    (
        "supersede supersedes override overrides replace replaces",
        r"\b(?:supersedes?|overrides?|replaces?) (?:all )?(?:previous|prior|earlier|your|other)"
        r" (?:instructions|directives|rules)",
    ),
    (
        "override directive & admin administrator system developer root security",
        r"\b(?:admin|administrator|system|developer|root|security) (?:override|directive)\b",
    ),
    (
        "instructions rules guidelines programming & update change amendment updates changes"
        " amendments",
        r"\b(?:update|change|amendment)s? to your (?:instructions|rules|guidelines|programming)\b",
        r" to your (?:instructions|rules|guidelines|programming)\b",
    ),
    (
        "priority precedence",
        r"\b(?:takes?|has|have) (?:priority|precedence) over (?:the user|your|all|any|previous"
        r"|other|earlier)",
    ),
    ("neue", r"\bneue (?:anweisungen|anweisung|instruktionen|aufgabe|regeln)\s*:"),
    ("aufgabe", r"\bdeine (?:eigentliche|wahre|neue|echte) aufgabe (?:ist|lautet)\b"),
    (
        "nouvelle nouvelles nouveau",
        r"\bnouvelles? (?:instructions?|consignes?|directives?|tâche|tache)\s*:",
    ),
    ("ta", r"\bta (?:vraie|véritable|veritable|nouvelle) (?:tâche|tache|mission) est\b"),
    (
        "nueva nuevas",
        r"\bnuevas? (?:instrucciones|instrucción|instruccion|directrices|tarea|reglas)\s*:",
    ),
    ("tu", r"\btu (?:verdadera|nueva|real) (?:tarea|misión|mision) es\b"),
)

_PLAY_WORDS = (
    "pretend imagine roleplay role play game hypothetical hypothetically fictional fiction story"
    " character"
)
_PLAY = (
    r"\b(?:pretend|imagine|roleplay|role-play|role play|let's play|play a game|game"
    r"|hypothetic\w*|fictional|fiction|story|character)\b"
)
_ROLEPLAY = family(
    0.8,
    (
        _PLAY_WORDS + " & no without never always uncensored unfiltered unrestricted rules evil"
        " evilbot",
        _PLAY + r"[^\n]{0,120}?(?:\bno (?:rules|restrictions|limits|filters|laws|ethics|morals)"
        r"\b|\bwithout (?:any )?(?:rules|restrictions|limits|filters|warnings|ethics|morals"
        r"|censorship)\b|\bnever refuses?\b|\balways answers\b|\buncensored\b|\bunfiltered\b"
        r"|\bunrestricted\b|rules (?:don't|do not|no longer) apply|\bevil ?bot\b)",
    ),
    (
        "character",
        r"\bstay in character\b[^.\n]{0,40}\b(?:no matter what|whatever happens|even if|at all"
        r" costs)",
    ),
    (
        "used",
        r"\b(?:grand(?:ma|mother|pa|father)|granny|nana|abuela|oma|grand-mère|mamie)\b[^\n]{0,80}?"
        r"\bused to\b[^\n]{0,60}?\b(?:keys?|passwords?|napalm|codes?|serials?|activation"
        r"|synthes\w*|explosives?)",
    ),
    (
        _PLAY_WORDS + " & warnings warning disclaimers disclaimer caveats caveat",
        _PLAY + r"[^\n]{0,160}?\b(?:do not|don't|never|without) (?:add|include|give|use|any)? ?"
        r"(?:warnings?|disclaimers?|caveats?)\b",
    ),
    (
        "stell tu",
        r"\b(?:stell dir vor|tu so,? als)\b[^\n]{0,80}(?:keine regeln|ohne (?:regeln"
        r"|einschränkungen|grenzen))",
    ),
    (
        "imagine imaginons semblant",
        r"\b(?:imagine|imaginons|fais semblant)\b[^\n]{0,80}(?:sans (?:règles|regles"
        r"|restrictions|limites)|aucune règle)",
    ),
    (
        "imagina finge supongamos",
        r"\b(?:imagina|finge|supongamos)\b[^\n]{0,80}(?:sin (?:reglas|restricciones|límites"
        r"|limites)|ninguna regla)",
    ),
)


OVERRIDE: dict[str, Family] = {
    "ignore_instructions": _IGNORE,
    "system_prompt_leak": _LEAK,
    "persona_override": _PERSONA,
    "new_instructions": _NEW,
    "roleplay_jailbreak": _ROLEPLAY,
}
