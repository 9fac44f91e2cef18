/* metric_families.c: the host's metric families, declared at start so that
 * /metrics lists each (HELP and TYPE) before it has samples: a dashboard or
 * an alert on Lua errors, upstream failures or late timers finds the family
 * on a host that has had none yet. Counters without labels start at 0. */
#include "metrics.h"

#include <stddef.h>

typedef struct {
  const char *name;
  fh_metric_type type;
  const char *help;
  int zero;  /* no labels: create the series at 0 */
} family;

static const family families[] = {
    {"flowhost_http_requests_total", FH_METRIC_COUNTER, "HTTP requests answered, by route and status", 0},
    {"flowhost_handler_seconds", FH_METRIC_HISTOGRAM, "Time from a complete request to its answer, by route", 0},
    {"flowhost_http_connections", FH_METRIC_GAUGE, "Open client connections", 0},
    {"flowhost_http_slow_clients_cut_total", FH_METRIC_COUNTER, "Connections cut for sending their request too slowly (request_deadline)", 1},
    {"flowhost_upstream_requests_total", FH_METRIC_COUNTER, "Outbound HTTP calls, by host and outcome (2xx..5xx or an error word)", 0},
    {"flowhost_redis_errors_total", FH_METRIC_COUNTER, "Redis failures, by kind (connect, disconnect, reply, unavailable, timeout)", 0},
    {"flowhost_lua_errors_total", FH_METRIC_COUNTER, "Request handlers that raised (answered 500)", 1},
    {"flowhost_coroutines_in_flight", FH_METRIC_GAUGE, "Tasks alive, by worker", 0},
    {"flowhost_timers_fired_total", FH_METRIC_COUNTER, "Durable timers fired, by kind", 0},
    {"flowhost_timers_late_total", FH_METRIC_COUNTER, "Durable timers fired more than 1 s after their due time, by kind", 0},
    {"flowhost_timer_lateness_seconds", FH_METRIC_HISTOGRAM, "How late durable timers fired", 0},
    {"flowhost_timer_errors_total", FH_METRIC_COUNTER, "Durable timer handlers that failed, by kind", 0},
    {"flowhost_llm_calls_total", FH_METRIC_COUNTER, "LLM calls, by tenant, provider and outcome (ok, an error word, or breaker open)", 0},
    {"flowhost_llm_call_seconds", FH_METRIC_HISTOGRAM, "Time of a whole LLM call (its retries included), by tenant and provider", 0},
    {"flowhost_llm_breaker_state", FH_METRIC_GAUGE, "LLM circuit breaker, by tenant and endpoint: 0 closed, 1 open (calls fail at once), 2 half-open (one probe)", 0},
    {"flowhost_turns_total", FH_METRIC_COUNTER, "Turns run (customer messages, tool calls and flow timers), by tenant", 0},
    {"flowhost_turns_failed_total", FH_METRIC_COUNTER, "Turns that failed, by tenant and reason (flow, tenant broken, busy, storage)", 0},
    {"flowhost_fallback_replies_total", FH_METRIC_COUNTER, "Replies that were the tenant's fallback message because the flow failed, by tenant", 0},
    {"flowhost_bookings_total", FH_METRIC_COUNTER, "Bookings made (held or confirmed) and cancelled, by tenant and event", 0},
    {"flowhost_handoffs_total", FH_METRIC_COUNTER, "Hand-offs to a person, by tenant and event (opened, answered, closed, timed_out)", 0},
    {"flowhost_tenant_reloads_total", FH_METRIC_COUNTER, "Tenant versions compiled and checked, by tenant and outcome (accepted: now serving; rejected: the last good version keeps serving)", 0},
    {"flowhost_tenant_version_info", FH_METRIC_GAUGE, "1 for the version each tenant serves on this host, 0 for versions it served before", 0},
    {"flowhost_connector_calls_total", FH_METRIC_COUNTER, "Connector calls to a back office (Odoo, Frappe, Google Calendar, Zoom), by connector and outcome", 0},
    {"flowhost_connector_ledger_total", FH_METRIC_COUNTER, "Side-effect ledger outcomes (done, replayed, resolved, in_doubt, busy, failed), by connector", 0},
    {"flowhost_webhook_unusable_total", FH_METRIC_COUNTER, "Verified webhook payloads (or messages of them) the host could not use, kept in the dead-letter stream, by tenant, channel and reason", 0},
    {"flowhost_inbound_dead_letters_total", FH_METRIC_COUNTER, "Entries written to a tenant's dead-letter stream, by tenant and reason", 0},
    {"flowhost_replies_in_doubt_total", FH_METRIC_COUNTER, "Replies in doubt (a host killed or a connection lost mid-send), by tenant and outcome (confirmed by the vendor, skipped: counted as sent, resent)", 0},
    {"flowhost_lua_heap_bytes", FH_METRIC_GAUGE, "Lua heap of each worker's main state (tenant states not included)", 0},
    {"flowhost_malloc_bytes", FH_METRIC_GAUGE, "C heap of the process: in_use, and held from the system", 0},
};

void fh_metric_families_declare(void) {
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
    fh_metrics_declare(families[i].name, families[i].type, families[i].help, NULL, 0);
    if (families[i].zero) fh_metrics_add(families[i].name, NULL, 0);
  }
}
