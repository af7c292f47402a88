"""Defaults, tool names and column hints of the Outlit dlt source."""

from __future__ import annotations

from datetime import timedelta

from dlt.common.schema.typing import TTableSchemaColumns

from outlit_core.client.urls import DEFAULT_BASE_URL as DEFAULT_BASE_URL  # one home: the client's

# Late-arriving activity is re-read this far behind each customer's cursor; merge on `id` absorbs the overlap.
DEFAULT_LOOKBACK = timedelta(hours=24)
# A late event (older than the customer's latest) does not move `lastActivityAt`, so a customer skipped as
# unchanged would never be asked for it. Every customer's timeline is therefore re-asked (from its cursor
# minus the look-back) at least once per this interval: one request per idle customer per interval.
DEFAULT_TIMELINE_RECHECK = timedelta(days=1)
# Facts carry no updatedAt, so a status change on a fact older than the look-back would never show up in an
# `after` window. Every customer's facts are therefore re-read in full once per this interval.
DEFAULT_FACTS_FULL_REFRESH = timedelta(days=1)
# Per-customer requests in flight at once. All of them share one client and so one rate limiter.
DEFAULT_MAX_WORKERS = 8
# Pages are handed to dlt joined into items of about this many rows: dlt spends about 10 ms on every item
# it extracts (schema hints, Arrow schema checks, file writes), as much as 600 rows cost to fetch and build.
# Each customers page's transformers hold a batch, and several run at once: kept small for memory.
BATCH_ROWS = 2_000
# `outlit_query` returns at most this many rows per call.
QUERY_ROW_CAP = 10_000

TOOL_LIST_CUSTOMERS = "outlit_list_customers"
TOOL_LIST_USERS = "outlit_list_users"
TOOL_LIST_WORKSPACE_USERS = "outlit_list_workspace_users"
TOOL_GET_TIMELINE = "outlit_get_timeline"
TOOL_LIST_FACTS = "outlit_list_facts"
TOOL_LIST_SOURCES = "outlit_list_sources"


def _ts(*names: str) -> TTableSchemaColumns:
    return {name: {"data_type": "timestamp", "nullable": True} for name in names}


def _text(*names: str) -> TTableSchemaColumns:
    # declared so that a column that happens to be all-null in a run still exists with its type
    return {name: {"data_type": "text", "nullable": True} for name in names}


def _json(*names: str) -> TTableSchemaColumns:
    return {name: {"data_type": "json", "nullable": True} for name in names}


def _double(*names: str) -> TTableSchemaColumns:
    return {name: {"data_type": "double", "nullable": True} for name in names}


def _bigint(*names: str) -> TTableSchemaColumns:
    return {name: {"data_type": "bigint", "nullable": True} for name in names}


# Names are given in dlt's snake_case form, which the default naming convention leaves unchanged.
CUSTOMERS_COLUMNS: TTableSchemaColumns = {
    **_text(
        "name", "domain", "billing_status", "mrr_calculation_status", "owner_id", "owner_email", "owner_name"
    ),
    **_ts("activated_at", "first_seen_at", "last_activity_at"),
    **_double("current_mrr"),
    **_bigint("contact_count", "days_since_activity"),
}

USERS_COLUMNS: TTableSchemaColumns = {
    **_text("email", "name", "customer_id", "customer_name", "customer_domain", "journey_stage"),
    **_ts("last_activity_at"),
    **_bigint("days_since_activity"),
}

WORKSPACE_USERS_COLUMNS: TTableSchemaColumns = {
    **_text("email", "name", "title", "role", "manager_email", "territory", "linkedin_url"),
    **_bigint("owned_customer_count"),
}

TIMELINE_COLUMNS: TTableSchemaColumns = {
    "customer_id": {"data_type": "text", "nullable": False},
    "occurred_at": {"data_type": "timestamp", "nullable": True},
    **_text("event_type", "event_name", "channel", "title", "summary", "contact", "source_type", "source_id"),
    **_json("metadata"),
}

FACTS_COLUMNS: TTableSchemaColumns = {
    "customer_id": {"data_type": "text", "nullable": False},
    **_double("confidence", "metric_value", "metric_previous_value", "metric_delta"),
    **_bigint("evidence_count", "occurrence_count"),
    **_ts(
        "occurred_at",
        "detected_at",
        "valid_from",
        "valid_until",
        "period_start",
        "period_end",
        "change_point_date",
        "last_detected_at",
        "source_occurred_at",
    ),
    # Provenance, lifted out of `sourceMetadata` / `linkedSourceRef` so it can be joined on directly.
    **_text("source_type", "source_id", "source_quote", "permalink"),
    **_text("assertion", "reasoning", "fact_type", "fact_category", "status", "priority", "severity"),
    **_text("metric_name", "metric_unit"),
    **_json("evidence"),
}

SOURCES_COLUMNS: TTableSchemaColumns = {
    "customer_id": {"data_type": "text", "nullable": True},
    **_text("title", "summary", "permalink", "provider"),
    **_ts("occurred_at"),
    **_json("record", "participants"),
}

INTEGRATIONS_COLUMNS: TTableSchemaColumns = {
    **_text("name", "category", "status", "connection_id", "sync_status", "error_message"),
    **_ts("last_data_received_at"),
}

INTEGRATION_SYNCS_COLUMNS: TTableSchemaColumns = {
    "provider": {"data_type": "text", "nullable": False},
    "model": {"data_type": "text", "nullable": False},
    **_ts("last_synced_at"),
    **_text("status", "error_message"),
}
