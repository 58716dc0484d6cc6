"""The segment rule language: text → tokens → tree → typed tree → Ibis expression.

See docs/rules.md for the grammar and the semantics (missing values, windows, sequences).
"""

from segmint.core.rules.checker import KNOWN_EVENTS, CheckContext, Resolved, TypedRule, check
from segmint.core.rules.compiler import CompileContext, build_plan, compile_rule
from segmint.core.rules.errors import RuleCycleError, RuleError, RuleSyntaxError, RuleTypeError
from segmint.core.rules.explain import ClauseResult, ExplainPlan, Explanation, explain, explain_plan
from segmint.core.rules.jsonform import from_json, to_json
from segmint.core.rules.nodes import Rule
from segmint.core.rules.parser import parse
from segmint.core.rules.printer import dump, to_text
from segmint.core.rules.segments import SegmentResolver, find_cycle, segment_refs

__all__ = [
    "KNOWN_EVENTS",
    "CheckContext",
    "ClauseResult",
    "CompileContext",
    "ExplainPlan",
    "Explanation",
    "Resolved",
    "Rule",
    "RuleCycleError",
    "RuleError",
    "RuleSyntaxError",
    "RuleTypeError",
    "SegmentResolver",
    "TypedRule",
    "build_plan",
    "check",
    "compile_rule",
    "dump",
    "explain",
    "explain_plan",
    "find_cycle",
    "from_json",
    "parse",
    "segment_refs",
    "to_json",
    "to_text",
]
