#!/usr/bin/env bash
# `make demo`: a private Redis under var/ (unless REDIS_URL is set) and
# flowhost serving the example config in the foreground. Ctrl-C (or SIGTERM)
# stops flowhost gracefully, then the Redis this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
started_redis= pid=
cleanup() {
  set +e
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  [ -n "$started_redis" ] && tools/redis.sh stop demo-redis
}
trap cleanup EXIT
trap 'exit 0' INT TERM
if [ -z "${REDIS_URL:-}" ]; then
  port=${DEMO_REDIS_PORT:-6380}
  tools/redis.sh start demo-redis "$port"
  started_redis=1
  export REDIS_URL="redis://127.0.0.1:$port"
fi
listen=${FLOWHOST_LISTEN:-127.0.0.1:8080}
# development values for the demo only (real ones come from your environment)
export CARWASH_TELEGRAM_TOKEN=${CARWASH_TELEGRAM_TOKEN:-123456:DEV-ONLY-not-a-real-token}
export CARWASH_TELEGRAM_SECRET=${CARWASH_TELEGRAM_SECRET:-dev-only-secret}
export CARWASH_ADMIN_TOKEN=${CARWASH_ADMIN_TOKEN:-dev-only-carwash-admin}
export CARWASH_API_KEY=${CARWASH_API_KEY:-dev-only-carwash-api-key}
export SALON_ADMIN_TOKEN=${SALON_ADMIN_TOKEN:-dev-only-salon-admin}
export SALON_API_KEY=${SALON_API_KEY:-dev-only-salon-api-key}
export SALON_TWILIO_ACCOUNT_SID=${SALON_TWILIO_ACCOUNT_SID:-AC00000000000000000000000000000000}
export SALON_TWILIO_AUTH_TOKEN=${SALON_TWILIO_AUTH_TOKEN:-dev-only-salon-twilio-token}
export FLOWHOST_ADMIN_TOKEN=${FLOWHOST_ADMIN_TOKEN:-dev-only-admin}
cat <<EOT
flowhost is starting on http://$listen (Redis: $REDIS_URL). Try:
  curl -s http://$listen/healthz
  curl -s http://$listen/readyz
  curl -s http://$listen/metrics
Talk to the car-service assistant (tenant "carwash"): create a conversation, then write in it
  id=\$(curl -s -X POST http://$listen/v1/tenants/carwash/conversations | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
  curl -s -X POST http://$listen/v1/tenants/carwash/conversations/\$id/messages \
       -H 'Content-Type: application/json' -d '{"text": "hi"}'
  curl -s http://$listen/v1/tenants/carwash/conversations/\$id
or name your own conversation with the tenant's API key (development key):
  curl -s -X POST http://$listen/v1/tenants/carwash/conversations/demo-1/messages \
       -H 'Authorization: Bearer $CARWASH_API_KEY' -H 'Content-Type: application/json' -d '{"text": "hi"}'
  REDIS_URL=$REDIS_URL build/flowhost chat carwash      (in another terminal)
Talk to the salon (tenant "salon", in Spanish) the same way:
  id=\$(curl -s -X POST http://$listen/v1/tenants/salon/conversations | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
  curl -s -X POST http://$listen/v1/tenants/salon/conversations/\$id/messages \
       -H 'Content-Type: application/json' -d '{"text": "hola, quiero un corte mañana a las 5"}'
  REDIS_URL=$REDIS_URL build/flowhost chat salon
Twilio webhook (signed with SALON_TWILIO_AUTH_TOKEN): POST http://$listen/webhooks/salon/twilio
Admin API (development token): curl -s -H 'Authorization: Bearer dev-only-admin' http://$listen/admin/tenants
Studio (edit, preview, publish, roll back; conversations, bookings, hand-offs): http://$listen/studio/
  sign in with the development token $FLOWHOST_ADMIN_TOKEN (every tenant; $CARWASH_ADMIN_TOKEN opens carwash only)
  (the page is built by \`make build\`; chats with drafts run on a preview host at ${FLOWHOST_STUDIO_PREVIEW_LISTEN:-127.0.0.1:8089})
Telegram webhook: POST http://$listen/webhooks/carwash/telegram with header
  X-Telegram-Bot-Api-Secret-Token: dev-only-secret
Stop with Ctrl-C (in-flight requests finish first).
EOT
build/flowhost serve --config config/flowhost.lua &
pid=$!
wait "$pid" || true
pid=
