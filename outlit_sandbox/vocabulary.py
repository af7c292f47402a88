"""Words the generated dataset is made of: company and person names, topics, event kinds, providers."""

from __future__ import annotations

from .dataset import JOURNEY_STAGES


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NAME_HEADS = _words(
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Tyrell Cyberdyne Soylent Wonka Aperture "
    "Massive Nimbus Orbit Pied Quantum Rocket Summit Tangent Vertex Zenith Beacon Cobalt Delta Ember "
    "Falcon Granite Harbor"
)
_NAME_TAILS = ("", "Labs", "Systems", "Analytics", "Cloud", "Works", "Dynamics", "Health", "Logistics", "AI")
_TLDS = (".com", ".io", ".co", ".dev", ".ai")
_FIRST = _words(
    "Ada Ben Cleo Dev Eli Fay Gus Hana Ivo Jade Kai Lena Milo Nora Omar Pia Quinn Rosa Sami Tess Uma "
    "Vik Wren Yara Zed"
)
_LAST = _words(
    "Adler Brook Chen Diaz Evans Fischer Garcia Hughes Ito Jensen Khan Lopez Moreau Novak Okafor "
    "Patel Rossi Silva Tanaka Ueda Varga Weber"
)
_TITLES = ("Head of Ops", "VP Engineering", "Data Lead", "CTO", "Product Manager", "Analyst", "Founder")
_INDUSTRIES = ("SaaS", "Fintech", "Healthcare", "Retail", "Logistics", "Media", "Education")
_REGIONS = ("NA", "EMEA", "APAC", "LATAM")
_PLANS = ("starter", "growth", "scale", "enterprise")
_TOPICS = (
    ("pricing", "raised concerns about pricing ahead of the renewal"),
    ("renewal", "asked for an early renewal quote with a multi-year discount"),
    ("onboarding", "reported that onboarding of new teammates is slow"),
    ("integration", "needs a Salesforce integration before expanding seats"),
    ("security", "requested a SOC 2 report and SSO enforcement"),
    ("budget", "confirmed budget for next quarter is approved"),
    ("champion", "mentioned their champion is moving to a new role"),
    ("competitor", "is evaluating a competitor on reporting features"),
    ("usage", "saw weekly active usage drop after the last release"),
    ("expansion", "wants to roll the product out to two more departments"),
    ("latency", "complained about dashboard latency during peak hours"),
    ("export", "asked for scheduled CSV exports to their warehouse"),
)

# (channel, eventType, eventName, title, sourceType)
EVENT_KINDS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("PRODUCT", "pageview", "page_viewed", "Viewed {page}", None),
    ("PRODUCT", "pageview", "page_viewed", "Viewed {page}", None),
    ("PRODUCT", "custom", "report_exported", "Exported a report", None),
    ("PRODUCT", "custom", "feature_used", "Used {feature}", None),
    ("PRODUCT", "engagement", "session_engaged", "Active session on {page}", None),
    ("COMMUNICATION", "email", "email_received", "Email: {topic}", "EMAIL"),
    ("COMMUNICATION", "email", "email_sent", "Re: {topic}", "EMAIL"),
    ("COMMUNICATION", "slack", "slack_message", "Slack thread about {topic}", "SLACK"),
    ("MEETING", "call", "call_completed", "Call about {topic}", "CALL"),
    ("MEETING", "calendar", "meeting_scheduled", "Meeting: {topic} review", "CALENDAR_EVENT"),
    ("CRM", "opportunity", "opportunity_stage_changed", "Opportunity moved to {stage}", "OPPORTUNITY"),
    ("BILLING", "billing", "invoice_paid", "Invoice paid", None),
    ("BILLING", "billing", "subscription_updated", "Subscription updated to {plan}", None),
    ("SUPPORT", "support_ticket", "ticket_opened", "Ticket: {topic}", "SUPPORT_TICKET"),
    ("SUPPORT", "support_ticket", "ticket_resolved", "Ticket resolved: {topic}", "SUPPORT_TICKET"),
    ("IDENTITY", "identify", "user_identified", "User identified", None),
    ("DOCUMENT", "document", "document_viewed", "Viewed proposal document", None),
    ("SYSTEM", "stage", "stage_changed", "Journey stage changed to {jstage}", None),
)
_PAGES = ("/dashboard", "/reports", "/settings", "/billing", "/integrations", "/pricing", "/onboarding")
_FEATURES = ("reports", "alerts", "segments", "exports", "dashboards", "api keys")
_OPP_STAGES = ("qualification", "proposal", "negotiation", "closed won")
_TITLE_WORDS = (
    ("page", _PAGES),
    ("feature", _FEATURES),
    ("stage", _OPP_STAGES),
    ("jstage", tuple(s.lower() for s in JOURNEY_STAGES)),
)
_PROVIDERS = {
    "EMAIL": "gmail",
    "CALL": "fireflies",
    "CALENDAR_EVENT": "google-calendar",
    "SUPPORT_TICKET": "pylon",
    "OPPORTUNITY": "hubspot",
    "SLACK": "slack",
}
_SOURCE_PREFIX = {
    "EMAIL": "email",
    "CALL": "call",
    "CALENDAR_EVENT": "cal",
    "SUPPORT_TICKET": "ticket",
    "OPPORTUNITY": "opp",
    "SLACK": "slack",
}
_NEXT_STATUS = {
    "ACTIVE": "ACKNOWLEDGED",
    "ACKNOWLEDGED": "RESOLVED",
    "RESOLVED": "ACTIVE",
    "SNOOZED": "ACTIVE",
    "CANDIDATE": "ACTIVE",
}
