"""The rule engine: rules, findings, per-therapy aggregation and the decision result.

A :class:`Rule` reads named inputs (:class:`~nelm.decision.inputs.DecisionInputs`) and named
thresholds (:class:`~nelm.decision.thresholds.Thresholds`) and gives one :class:`Finding` at a
:class:`~nelm.decision.levels.Level`. When an input the rule needs is unknown, the engine does not
call it: the finding is ``UNDETERMINED`` and names the missing inputs (nelm never guesses). A
therapy's level is the worst of its findings (:func:`nelm.decision.levels.worst`; the order and
where ``UNDETERMINED`` sits are explained there). Cross-cutting findings (carcinoid crisis,
grading) are listed apart and do not change a therapy's level.

This is decision *support* for a tumour board: every statement shows its rule, thresholds, the
patient's values and its sources, and the board decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.case.vocabulary import Differentiation, Grade
from nelm.decision.citations import CITATIONS, CitationOut
from nelm.decision.inputs import INPUT_UNITS, DecisionInputs, format_value
from nelm.decision.levels import Level, worst
from nelm.decision.thresholds import PARAMETERS, Thresholds

__all__ = [
    "DISCLAIMER",
    "Context",
    "DecisionResult",
    "Finding",
    "Outcome",
    "Rule",
    "Therapy",
    "TherapyAssessment",
    "evaluate",
    "missing_inputs",
]

DISCLAIMER = (
    f"{RESEARCH_USE_DISCLAIMER} Decision support for a multidisciplinary tumour board: it lists rules, "
    "thresholds and sources; it does not decide."
)


class Therapy(StrEnum):
    """The therapies assessed, in output order."""

    RESECTION = "resection"
    TRANSPLANT = "transplant"
    ABLATION = "ablation"
    TAE = "tae"
    CTACE = "ctace"
    DEBTACE = "debtace"
    TARE = "tare"
    PRRT = "prrt"

    @property
    def label(self) -> str:
        """Readable name."""
        return _LABELS[self]


_LABELS = {
    Therapy.RESECTION: "Resection / cytoreduction",
    Therapy.TRANSPLANT: "Liver transplantation",
    Therapy.ABLATION: "Thermal ablation",
    Therapy.TAE: "Bland embolization (TAE)",
    Therapy.CTACE: "Conventional TACE (cTACE)",
    Therapy.DEBTACE: "Drug-eluting-bead TACE (DEB-TACE)",
    Therapy.TARE: "Y-90 radioembolization (TARE)",
    Therapy.PRRT: "PRRT (Lu-177-DOTATATE)",
}

LDT = (
    Therapy.RESECTION,
    Therapy.ABLATION,
    Therapy.TAE,
    Therapy.CTACE,
    Therapy.DEBTACE,
    Therapy.TARE,
)
"""Liver-directed therapies that share the 'any LDT' rules of clinical-rules.md §9 (transplant has
its own grade rule)."""


@dataclass(frozen=True)
class Outcome:
    """What a rule's check returns: a level, a message, and any further inputs it read."""

    level: Level
    message: str
    read: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


class Context:
    """What a rule's check sees: the inputs (with derived values) and the thresholds."""

    def __init__(self, inputs: DecisionInputs, thresholds: Thresholds) -> None:
        self.inputs = inputs
        self.thresholds = thresholds
        self._derived: dict[str, tuple[Any, str]] = {}
        if inputs.grade is None:
            derived = derive_grade(inputs, thresholds)
            if derived is not None:
                self._derived["grade"] = derived

    def value(self, name: str) -> Any:
        """An input's value, or a derived one (the WHO grade from Ki-67); ``None`` if unknown."""
        if name in self._derived:
            return self._derived[name][0]
        return self.inputs.value(name)

    def source(self, name: str) -> str:
        """Provenance of an input."""
        if name in self._derived:
            return self._derived[name][1]
        return self.inputs.source(name)

    def text(self, name: str) -> str:
        """Value with unit and source, for a finding's ``inputs``."""
        return f"{self.show(name)} ({self.source(name)})"

    def show(self, name: str) -> str:
        """Value with unit, for messages."""
        return format_value(self.value(name), INPUT_UNITS.get(name, ""))

    def number(self, name: str) -> Decimal:
        """A numeric input as a Decimal (the rule declared it needed, so it is known)."""
        value = self.value(name)
        return value if isinstance(value, Decimal) else Decimal(value)

    def t(self, name: str) -> Decimal:
        """A numeric threshold."""
        return self.thresholds.number(name)

    def tt(self, name: str) -> str:
        """A threshold with its unit."""
        return PARAMETERS[name].text(self.thresholds.value(name))


def derive_grade(inputs: DecisionInputs, thresholds: Thresholds) -> tuple[Grade, str] | None:
    """The WHO grade from Ki-67 and differentiation, with the classification version.

    WHO 2017/2019 (default): G1 Ki-67 < 3 %, G2 3-20 %, G3 > 20 % (well differentiated); NEC when
    poorly differentiated. WHO 2010 (``who_classification`` naming 2010): G1 Ki-67 <= 2 %.
    ``None`` when Ki-67 is unknown, or above 20 % with the differentiation unknown (G3 NET or NEC
    cannot be told apart). Sources: clinical-rules.md §1 (who2019, who2010).
    """
    if inputs.differentiation is Differentiation.POOR:
        return Grade.NEC, "derived: poorly differentiated = NEC (WHO 2019)"
    ki67 = inputs.ki67_percent
    if ki67 is None:
        return None
    version = "WHO 2010" if "2010" in (inputs.who_classification or "") else "WHO 2019"
    shown = format_value(ki67, "%")
    if version == "WHO 2010":
        g1 = ki67 <= thresholds.number("who2010_g1_max_ki67_percent")
    else:
        g1 = ki67 < thresholds.number("who2019_g1_below_ki67_percent")
    if g1:
        return Grade.G1, f"derived: Ki-67 {shown} under {version}"
    if ki67 <= thresholds.number("g3_above_ki67_percent"):
        return Grade.G2, f"derived: Ki-67 {shown} under {version}"
    if inputs.differentiation is Differentiation.WELL:
        return Grade.G3, f"derived: Ki-67 {shown}, well differentiated, under {version}"
    return None


@dataclass(frozen=True)
class Rule:
    """One decision rule.

    Parameters
    ----------
    rule_id:
        Stable id, e.g. ``"ABL-SIZE-1"`` (the same id may apply to several therapies).
    therapy:
        The therapy it assesses, ``None`` for a cross-cutting rule.
    title:
        What it checks, for an undetermined finding's message.
    needs:
        Inputs that must be known; otherwise the finding is ``UNDETERMINED``.
    thresholds:
        Threshold names it compares against.
    citations:
        Ids in :data:`~nelm.decision.citations.CITATIONS`.
    check:
        ``Context -> Outcome``; called only when every input in ``needs`` is known.
    disagreement:
        Where the sources disagree about the rule itself (not a threshold), else ``None``.
    applies:
        ``Context -> bool``; when it returns ``False`` the rule gives no finding.
    """

    rule_id: str
    therapy: Therapy | None
    title: str
    needs: tuple[str, ...]
    thresholds: tuple[str, ...]
    citations: tuple[str, ...]
    check: Callable[[Context], Outcome]
    disagreement: str | None = None
    applies: Callable[[Context], bool] | None = None

    def __post_init__(self) -> None:
        unknown = [c for c in self.citations if c not in CITATIONS]
        unknown += [t for t in self.thresholds if t not in PARAMETERS]
        if unknown:
            raise ValueError(f"rule {self.rule_id}: unknown citation or threshold ids {unknown}")
        if not self.citations:
            raise ValueError(f"rule {self.rule_id} cites no source")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Finding(_Model):
    """The outcome of one rule for one patient."""

    rule_id: str
    therapy: str | None
    level: Level
    message: str
    inputs: dict[str, str]
    thresholds: dict[str, str]
    citations: list[str]
    disagreement: str | None
    missing: tuple[str, ...] = Field(default=(), exclude=True)


class TherapyAssessment(_Model):
    """A therapy's level (worst of its findings) and every finding."""

    therapy: str
    label: str
    level: Level
    findings: list[Finding]


class MissingInput(_Model):
    """An unknown input and the rules that needed it."""

    input: str
    needed_by: list[str]


class Disagreement(_Model):
    """Where the sources disagree: the default in force and the alternatives."""

    parameter: str
    default: str
    alternatives: str
    citations: list[str]


class InputOut(_Model):
    """An input's value and provenance."""

    value: Any
    source: str


class NotEncodedOut(_Model):
    """A rule of the reference not encoded, and why."""

    rule: str
    reason: str


class DecisionResult(_Model):
    """The result of :func:`nelm.decision.advise` (``model_dump(mode="json")`` for the JSON)."""

    disclaimer: str
    assessment_date: str | None
    therapies: list[TherapyAssessment]
    cross_cutting: list[Finding]
    missing_inputs: list[MissingInput]
    disagreements: list[Disagreement]
    citations: dict[str, CitationOut]
    inputs: dict[str, InputOut]
    not_encoded: list[NotEncodedOut]

    def therapy(self, therapy: Therapy | str) -> TherapyAssessment:
        """The assessment of one therapy."""
        for t in self.therapies:
            if t.therapy == therapy:
                return t
        raise KeyError(f"no therapy {therapy!r}")

    def level(self, therapy: Therapy | str) -> Level:
        """The level of one therapy."""
        return self.therapy(therapy).level

    def findings(self, rule_id: str) -> list[Finding]:
        """Every finding of a rule id (therapies and cross-cutting)."""
        everything = [f for t in self.therapies for f in t.findings] + list(self.cross_cutting)
        return [f for f in everything if f.rule_id == rule_id]

    def summary_lines(self) -> list[str]:
        """A readable plain-text summary (see :mod:`nelm.decision.summary`)."""
        from nelm.decision.summary import summary_lines

        return summary_lines(self)


def _run(rule: Rule, ctx: Context) -> Finding:
    missing = tuple(name for name in rule.needs if ctx.value(name) is None)
    if missing:
        outcome = Outcome(
            Level.UNDETERMINED,
            f"{rule.title}: not evaluated; unknown input(s): {', '.join(missing)}",
            missing=missing,
        )
    else:
        outcome = rule.check(ctx)
        if outcome.missing and outcome.level is not Level.UNDETERMINED:
            raise ValueError(f"rule {rule.rule_id}: missing inputs must give UNDETERMINED")
    read = tuple(dict.fromkeys((*rule.needs, *outcome.read, *outcome.missing)))
    citations = list(dict.fromkeys(rule.citations))
    notes = [rule.disagreement] if rule.disagreement else []
    for name in rule.thresholds:
        parameter = PARAMETERS[name]
        citations += [c for c in parameter.citations if c not in citations]
        if parameter.disagreement and parameter.disagreement not in notes:
            notes.append(f"{name}: default {ctx.tt(name)}; {parameter.disagreement}")
    return Finding(
        rule_id=rule.rule_id,
        therapy=None if rule.therapy is None else rule.therapy.value,
        level=outcome.level,
        message=outcome.message,
        inputs={name: ctx.text(name) for name in read},
        thresholds={name: ctx.thresholds.text(name) for name in rule.thresholds},
        citations=citations,
        disagreement="; ".join(notes) if notes else None,
        missing=outcome.missing,
    )


def evaluate(rules: Iterable[Rule], ctx: Context) -> list[Finding]:
    """Every applicable rule's finding, in rule order."""
    return [_run(rule, ctx) for rule in rules if rule.applies is None or rule.applies(ctx)]


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return getattr(value, "value", value)


def build_result(
    findings: Sequence[Finding],
    ctx: Context,
    rules: Sequence[Rule],
    not_encoded: Sequence[tuple[str, str]],
) -> DecisionResult:
    """Assemble a :class:`DecisionResult` from the findings."""
    therapies = []
    for therapy in Therapy:
        own = [f for f in findings if f.therapy == therapy.value]
        therapies.append(
            TherapyAssessment(
                therapy=therapy.value, label=therapy.label, level=worst(f.level for f in own), findings=own
            )
        )
    cross = [f for f in findings if f.therapy is None]
    needed: dict[str, list[str]] = {}
    for f in findings:
        for name in f.missing:
            ids = needed.setdefault(name, [])
            if f.rule_id not in ids:
                ids.append(f.rule_id)
    disagreements = [
        Disagreement(
            parameter=name,
            default=ctx.thresholds.text(name),
            alternatives=p.disagreement,
            citations=list(p.citations),
        )
        for name, p in PARAMETERS.items()
        if p.disagreement
    ]
    seen_rules: set[str] = set()
    for rule in rules:
        if rule.disagreement and rule.rule_id not in seen_rules:
            seen_rules.add(rule.rule_id)
            disagreements.append(
                Disagreement(
                    parameter=rule.rule_id,
                    default=f"{rule.title} (as encoded)",
                    alternatives=rule.disagreement,
                    citations=list(rule.citations),
                )
            )
    cited = list(
        dict.fromkeys(
            [c for f in findings for c in f.citations] + [c for d in disagreements for c in d.citations]
        )
    )
    inputs = {
        name: InputOut(value=_json_value(ctx.value(name)), source=ctx.source(name))
        for name in DecisionInputs.model_fields
        if name not in ("sources", "assessment_date") and ctx.value(name) not in (None, ())
    }
    date = ctx.inputs.assessment_date
    return DecisionResult(
        disclaimer=DISCLAIMER,
        assessment_date=None if date is None else date.isoformat(),
        therapies=therapies,
        cross_cutting=cross,
        missing_inputs=[MissingInput(input=k, needed_by=v) for k, v in needed.items()],
        disagreements=disagreements,
        citations={c: CitationOut(**CITATIONS[c].to_dict()) for c in cited},
        inputs=inputs,
        not_encoded=[NotEncodedOut(rule=r, reason=why) for r, why in not_encoded],
    )


def missing_inputs(result: DecisionResult) -> list[str]:
    """The names of the inputs still unknown that some rule needed (for the imaging advisor)."""
    return [m.input for m in result.missing_inputs]
